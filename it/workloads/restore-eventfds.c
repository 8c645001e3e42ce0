/*
 * restore-eventfds: an event loop of the kind every runtime has. epoll (fd 3 up) watches an eventfd
 * (edge-triggered), a periodic timerfd, a signalfd for SIGUSR1 and an inotify watch on DIR (IN_CREATE);
 * each reports its own data. It fills MIB MiB of anonymous memory once; then on every expiry of the
 * timer (INTERVAL ms) it checks and prints
 *   pid P counter N sum HEX ticks T ival MS efd_events E efd_checks C sem_reads S usr1 U created K
 *   wrong W rtabs MS monoabs MS devreads D
 * ticks counts the timer's expirations, ival is its interval (timerfd_gettime); the eventfd gets 1
 * each tick and, every 7th, is read and must hold exactly what was written since (a base above
 * 2^32 written back each time, so its counter never fits eventfd2's initial value): C counts the
 * checks that passed; a semaphore eventfd must give 1 per read (S); U counts SIGUSR1 read through
 * the signalfd, K the files created in DIR (each also printed as "created NAME"; DIR's watch is
 * descriptor 2, one made and removed before it); W counts events with data no fd was given, inotify
 * events other than those, and anything unexpected; rtabs and monoabs are the absolute expiries
 * of two idle ABSTIME timerfds (CLOCK_REALTIME and CLOCK_MONOTONIC, an hour ahead), clock now plus
 * time left: constant while the expiry is kept; D counts reads of /dev/zero (zeros) and /dev/urandom.
 * A check that fails prints "MISMATCH ...".
 *
 * usage: restore-eventfds MIB INTERVAL_MS DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { D_EFD = 0x1111, D_TIMER = 0x2222, D_SIG = 0x3333, D_INOTIFY = 0x4444 };
#define BASE 0x123456789ULL

static uint64_t fnv(const uint64_t *w, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static long long ms(struct timespec t)
{
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The absolute expiry of an ABSTIME timerfd on clock: now plus the time left, in ms. */
static long long absolute(int fd, clockid_t clock)
{
    struct itimerspec cur;
    struct timespec now;
    if (timerfd_gettime(fd, &cur) != 0 || clock_gettime(clock, &now) != 0)
        die("timerfd_gettime");
    return ms(now) + ms(cur.it_value);
}

static int abstimer(clockid_t clock)
{
    int fd = timerfd_create(clock, TFD_CLOEXEC);
    struct timespec now;
    if (fd < 0 || clock_gettime(clock, &now) != 0)
        die("timerfd_create");
    struct itimerspec at = { { 0, 0 }, { now.tv_sec + 3600, 0 } };
    if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &at, NULL) != 0)
        die("timerfd_settime abs");
    return fd;
}

static void watch(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = { .events = events, .data.u64 = data };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("epoll_ctl");
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: restore-eventfds MIB INTERVAL_MS DIR\n");
        return 2;
    }
    size_t len = (size_t)strtol(argv[1], NULL, 10) << 20;
    long interval = strtol(argv[2], NULL, 10);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int sem = eventfd(1000000, EFD_NONBLOCK | EFD_SEMAPHORE);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &usr1, NULL) != 0)
        die("sigprocmask");
    int sfd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC);
    int ifd = inotify_init1(IN_NONBLOCK);
    int rt = abstimer(CLOCK_REALTIME), mono = abstimer(CLOCK_MONOTONIC);
    int zero = open("/dev/zero", O_RDONLY), urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (ep < 0 || efd < 0 || sem < 0 || tfd < 0 || sfd < 0 || ifd < 0 || zero < 0 || urandom < 0)
        die("create");
    /* a watch made and removed first: DIR's watch is descriptor 2, and restore must skip 1 */
    int gone = inotify_add_watch(ifd, "/", IN_DELETE_SELF);
    char ignored[256] __attribute__((aligned(8)));
    if (gone != 1 || inotify_rm_watch(ifd, gone) != 0 || read(ifd, ignored, sizeof ignored) <= 0)
        die("inotify_rm_watch");
    if (inotify_add_watch(ifd, argv[3], IN_CREATE) != 2)
        die("inotify_add_watch");
    uint64_t written = BASE;
    if (write(efd, &written, sizeof written) != sizeof written)
        die("write eventfd");
    watch(ep, efd, EPOLLIN | EPOLLET, D_EFD);
    watch(ep, tfd, EPOLLIN, D_TIMER);
    watch(ep, sfd, EPOLLIN, D_SIG);
    watch(ep, ifd, EPOLLIN, D_INOTIFY);
    struct itimerspec every = { { interval / 1000, (interval % 1000) * 1000000L },
                                { interval / 1000, (interval % 1000) * 1000000L } };
    if (timerfd_settime(tfd, 0, &every, NULL) != 0)
        die("timerfd_settime");

    uint64_t *big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED)
        die("mmap");
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < len / 8; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = x;
    }
    uint64_t counter = 0, ticks = 0, efd_events = 0, efd_checks = 0, sem_reads = 0, usr1n = 0, created = 0,
             wrong = 0, devreads = 0;
    for (;;) {
        struct epoll_event evs[8];
        int n = epoll_wait(ep, evs, 8, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        int tick = 0;
        for (int i = 0; i < n; i++) {
            uint64_t v;
            switch (evs[i].data.u64) {
            case D_TIMER:
                if (read(tfd, &v, sizeof v) == sizeof v) {
                    ticks += v;
                    tick = 1;
                }
                break;
            case D_EFD:
                efd_events++;
                break;
            case D_SIG: {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) == sizeof si) {
                    if (si.ssi_signo == SIGUSR1)
                        usr1n++;
                    else
                        wrong++;
                }
                break;
            }
            case D_INOTIFY: {
                char buf[4096] __attribute__((aligned(8)));
                ssize_t got;
                while ((got = read(ifd, buf, sizeof buf)) > 0) {
                    for (char *p = buf; p < buf + got;) {
                        struct inotify_event *e = (struct inotify_event *)p;
                        if ((e->mask & IN_CREATE) && e->len > 0) {
                            created++;
                            printf("created %s\n", e->name);
                        } else {
                            wrong++;
                        }
                        p += sizeof *e + e->len;
                    }
                }
                break;
            }
            default:
                wrong++;
                printf("MISMATCH epoll data %" PRIx64 "\n", (uint64_t)evs[i].data.u64);
            }
        }
        if (!tick)
            continue;
        counter++;
        uint64_t one = 1;
        if (write(efd, &one, sizeof one) != sizeof one)
            die("write eventfd");
        written += 1;
        if (counter % 7 == 0) {
            uint64_t got = 0;
            if (read(efd, &got, sizeof got) != sizeof got || got != written) {
                printf("MISMATCH eventfd holds %" PRIu64 ", %" PRIu64 " written\n", got, written);
                wrong++;
            } else {
                efd_checks++;
            }
            written = BASE;
            if (write(efd, &written, sizeof written) != sizeof written)
                die("write eventfd");
        }
        uint64_t s = 0;
        if (read(sem, &s, sizeof s) != sizeof s || s != 1) {
            printf("MISMATCH semaphore eventfd gave %" PRIu64 "\n", s);
            wrong++;
        } else {
            sem_reads++;
        }
        uint64_t z = 1, r;
        if (read(zero, &z, sizeof z) == sizeof z && z == 0 && read(urandom, &r, sizeof r) == sizeof r)
            devreads++;
        else
            printf("MISMATCH device read\n");
        struct itimerspec cur;
        timerfd_gettime(tfd, &cur);
        uint64_t h = fnv(big, len / 8, 0xcbf29ce484222325ULL);
        printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " ticks %" PRIu64 " ival %lld efd_events %" PRIu64
               " efd_checks %" PRIu64 " sem_reads %" PRIu64 " usr1 %" PRIu64 " created %" PRIu64 " wrong %" PRIu64
               " rtabs %lld monoabs %lld devreads %" PRIu64 "\n",
               (int)getpid(), counter - 1, h, ticks, ms(cur.it_interval), efd_events, efd_checks, sem_reads, usr1n,
               created, wrong, absolute(rt, CLOCK_REALTIME), absolute(mono, CLOCK_MONOTONIC), devreads);
        fflush(stdout);
    }
}
