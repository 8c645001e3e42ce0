/* A small process for a reference CRIU dump: a signal handler, a blocked signal, an open file with an
 * offset, a heap buffer and an anonymous mapping with known contents, then it waits. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, NULL);
    umask(027);
    int fd = open("/tmp/wt-images-fixture/log.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "hello, checkpoint\n", 18) != 18) return 1;
    char *heap = malloc(64 * 1024);
    memset(heap, 0x5a, 64 * 1024);
    unsigned char *anon = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 8 * 4096; i++) anon[i] = (unsigned char)(i * 7);
    write(1, "ready\n", 6);
    for (;;) pause();
}
