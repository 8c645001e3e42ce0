/*
 * unsupported: a process lazymig dump must refuse, of the kind KIND, that prints "pid P counter N"
 * every INTERVAL ms so a test can see it is still running after the refusal:
 *   thread   a second thread (sleeping)
 *   child    a child process (sleeping; killed when this process dies)
 *   socket   an AF_PACKET socket on fd 3 (a kind lazymig does not restore)
 *   eventfd  an eventfd on fd 3 (supported now: dump takes it)
 *   epoll-pidfd  an epoll on fd 3 watching a pidfd (of itself) on fd 4
 *   epoll-reused an epoll on fd 3 watching, under fd 4, an eventfd now at fd 5 only; fd 4 another eventfd
 *   pipe     both ends of a pipe on fds 3 and 4
 *   seccomp  a second thread, named "filtered", with a seccomp filter (allow-all) of its own
 *   io_uring an io_uring instance on fd 3
 *   memfd-private a memfd mapped MAP_PRIVATE (its fd closed; a MAP_SHARED one is dumped)
 *   sysv-shm a SysV shared memory segment attached (and marked removed)
 *
 * usage: unsupported KIND [INTERVAL_MS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <netpacket/packet.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static pthread_barrier_t filtered_ready;
static int filtered_status;

/* Says it has started, then sleeps. */
static void *started_sleeper(void *arg)
{
    pthread_barrier_wait(&filtered_ready);
    return sleeper(arg);
}

/* Installs an allow-all seccomp filter on this thread only, then sleeps. */
static void *filtered(void *arg)
{
    (void)arg;
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = { 1, &allow };
    prctl(PR_SET_NAME, "filtered");
    filtered_status = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
                      && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0 ? 0 : -1;
    pthread_barrier_wait(&filtered_ready);
    return sleeper(NULL);
}

static int make(const char *kind)
{
    if (strcmp(kind, "seccomp") == 0) {
        pthread_t t;
        pthread_barrier_init(&filtered_ready, NULL, 2);
        if (pthread_create(&t, NULL, filtered, NULL) != 0)
            return -1;
        pthread_barrier_wait(&filtered_ready);
        return filtered_status;
    }
    if (strcmp(kind, "io_uring") == 0) {
        struct io_uring_params params;
        memset(&params, 0, sizeof(params));
        return syscall(SYS_io_uring_setup, 4, &params) >= 0 ? 0 : -1;
    }
    if (strcmp(kind, "thread") == 0) {
        /* Wait until the thread runs its own code: until then it has every signal blocked (glibc
         * restores the creator's mask in the new thread first), and a test reading its mask races. */
        pthread_t t;
        pthread_barrier_init(&filtered_ready, NULL, 2);
        if (pthread_create(&t, NULL, started_sleeper, NULL) != 0)
            return -1;
        pthread_barrier_wait(&filtered_ready);
        return 0;
    }
    if (strcmp(kind, "childgroup") == 0) {
        /* the child stays in the starter's process group, the parent leads a group of its own:
           a group of the tree led from outside it, which restore cannot rebuild */
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0);
            sleeper(NULL);
        }
        return pid > 0 && setpgid(0, 0) == 0 ? 0 : -1;
    }
    if (strcmp(kind, "socket") == 0)
        return socket(AF_PACKET, SOCK_DGRAM, 0) >= 0 ? 0 : -1;
    if (strcmp(kind, "eventfd") == 0)
        return eventfd(0, 0) >= 0 ? 0 : -1;
    if (strcmp(kind, "epoll-pidfd") == 0) {
        int ep = epoll_create1(0);
        int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
        return ep >= 0 && pidfd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, pidfd, &ev) == 0 ? 0 : -1;
    }
    if (strcmp(kind, "epoll-reused") == 0) {
        int ep = epoll_create1(0);
        int watched = eventfd(0, 0);
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
        if (ep < 0 || watched != 4 || epoll_ctl(ep, EPOLL_CTL_ADD, watched, &ev) != 0 || dup(watched) != 5)
            return -1;
        close(watched);
        return eventfd(0, 0) == 4 ? 0 : -1;
    }
    if (strcmp(kind, "memfd-private") == 0) {
        int fd = memfd_create("lazymig-priv", 0);
        char *p;
        if (fd < 0 || ftruncate(fd, 4096) != 0)
            return -1;
        p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED)
            return -1;
        p[0] = 1;
        return 0;
    }
    if (strcmp(kind, "sysv-shm") == 0) {
        int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
        char *p = id < 0 ? (char *)-1 : shmat(id, NULL, 0);
        if (id >= 0)
            shmctl(id, IPC_RMID, NULL); /* gone when this process exits */
        if (p == (char *)-1)
            return -1;
        p[0] = 1;
        return 0;
    }
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
        fprintf(stderr, "usage: unsupported thread|child|socket|eventfd|epoll-pidfd|epoll-reused|pipe|seccomp|io_uring [INTERVAL_MS]\n");
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
