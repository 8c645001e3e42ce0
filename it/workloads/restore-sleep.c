/*
 * restore-sleep: checkpointed while asleep in a syscall. It fills MIB MiB once, prints
 *   pid P counter 0 sum HEX t MS
 *   sleeping
 * then sleeps an hour in one nanosleep. When that returns (restore interrupts it: EINTR) it prints
 *   nanosleep returned R errno E realtime_ns NS
 * (NS: CLOCK_REALTIME at once, so a benchmark can tell when the restored process ran again)
 * and from then on a counter line every INTERVAL ms (its own sleeps retried on EINTR).
 *
 * usage: restore-sleep MIB INTERVAL_MS
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t fnv(const uint64_t *w, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void line(uint64_t counter, const uint64_t *big, size_t len)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " t %lld\n", (int)getpid(), counter,
           fnv(big, len / 8, 0xcbf29ce484222325ULL), (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    size_t len = (size_t)(argc > 1 ? strtol(argv[1], NULL, 10) : 16) << 20;
    long interval = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
    uint64_t *big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    uint64_t x = 0xd1b54a32d192ed03ULL;
    for (size_t i = 0; i < len / 8; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = x;
    }
    line(0, big, len);
    printf("sleeping\n");
    fflush(stdout);
    struct timespec hour = { 3600, 0 };
    int rc = nanosleep(&hour, NULL);
    int err = rc ? errno : 0;
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    printf("nanosleep returned %d errno %d realtime_ns %lld\n", rc, err,
           (long long)real.tv_sec * 1000000000LL + real.tv_nsec);
    fflush(stdout);
    struct timespec ts = { interval / 1000, (interval % 1000) * 1000000L };
    for (uint64_t counter = 1;; counter++) {
        line(counter, big, len);
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
            ;
    }
}
