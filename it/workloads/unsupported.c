/*
 * unsupported: a process lazymig dump must refuse, of the kind KIND, that prints "pid P counter N"
 * every INTERVAL ms so a test can see it is still running after the refusal:
 *   thread   a second thread (sleeping)
 *   child    a child process (sleeping; killed when this process dies)
 *   socket   an AF_UNIX socket on fd 3
 *   eventfd  an eventfd on fd 3
 *   pipe     both ends of a pipe on fds 3 and 4
 *
 * usage: unsupported KIND [INTERVAL_MS]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static int make(const char *kind)
{
    if (strcmp(kind, "thread") == 0) {
        pthread_t t;
        return pthread_create(&t, NULL, sleeper, NULL) == 0 ? 0 : -1;
    }
    if (strcmp(kind, "child") == 0) {
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0);
            sleeper(NULL);
        }
        return pid > 0 ? 0 : -1;
    }
    if (strcmp(kind, "socket") == 0)
        return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : -1;
    if (strcmp(kind, "eventfd") == 0)
        return eventfd(0, 0) >= 0 ? 0 : -1;
    if (strcmp(kind, "pipe") == 0) {
        int p[2];
        return pipe(p);
    }
    errno = EINVAL;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: unsupported thread|child|socket|eventfd|pipe [INTERVAL_MS]\n");
        return 2;
    }
    long interval = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
    if (make(argv[1]) != 0) {
        perror(argv[1]);
        return 1;
    }
    struct timespec ts = { interval / 1000, (interval % 1000) * 1000000L };
    for (uint64_t counter = 0;; counter++) {
        printf("pid %d counter %" PRIu64 "\n", (int)getpid(), counter);
        fflush(stdout);
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
            ;
    }
}
