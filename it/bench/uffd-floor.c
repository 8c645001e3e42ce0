/*
 * uffd-floor: the local userfaultfd fault round trip on this machine, the floor under lazymig's
 * fault latency: one thread touches pages of a MISSING-registered region, another serves each
 * fault with a 4 KiB UFFDIO_COPY (poll, read, copy). Prints p50/p90/p99/max of the touch time
 * in microseconds as JSON. Needs root (or vm.unprivileged_userfaultfd=1).
 *
 * usage: uffd-floor [PAGES]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int uffd;
static long page;

static void *serve(void *arg)
{
    char *src = arg;
    for (;;) {
        struct pollfd p = { .fd = uffd, .events = POLLIN };
        if (poll(&p, 1, -1) < 0)
            continue;
        struct uffd_msg msg;
        if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
            continue;
        if (msg.event != UFFD_EVENT_PAGEFAULT)
            continue;
        struct uffdio_copy c = {
            .dst = msg.arg.pagefault.address & ~(uint64_t)(page - 1),
            .src = (uint64_t)(uintptr_t)src,
            .len = (uint64_t)page,
        };
        ioctl(uffd, UFFDIO_COPY, &c);
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long pages = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)pages * (size_t)page;
    uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    struct uffdio_api api = { .api = UFFD_API };
    if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) != 0) {
        perror("userfaultfd");
        return 1;
    }
    char *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *src = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(src, 0x5a, (size_t)page);
    struct uffdio_register reg = { .range = { (uint64_t)(uintptr_t)region, len }, .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
        perror("UFFDIO_REGISTER");
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, serve, src);
    double *lat = malloc(sizeof(double) * (size_t)pages);
    volatile char sink = 0;
    for (long i = 0; i < pages; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        sink += region[(size_t)i * (size_t)page];
        clock_gettime(CLOCK_MONOTONIC, &b);
        lat[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
    }
    (void)sink;
    qsort(lat, (size_t)pages, sizeof(double), cmp);
    printf("{\"faults\": %ld, \"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, \"max_us\": %.2f}\n", pages,
           lat[pages / 2], lat[pages * 9 / 10], lat[pages * 99 / 100], lat[pages - 1]);
    return 0;
}
