/*
 * checksum-loop: fills MIB MiB of anonymous memory (plus a 64 KiB malloc buffer) with xorshift
 * data once, then every INTERVAL ms prints "pid P counter N sum HEX t MS" — the checksum of all of
 * it, which never changes, and a counter that does. Used to prove a migration byte-exact: the
 * sum after restore must equal the sum before, and the counter must go on.
 *
 * usage: checksum-loop [MIB [INTERVAL_MS]]
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

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 64;
    long interval = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
    size_t len = (size_t)mib << 20;
    uint64_t *big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t *small = malloc(64 << 10);
    if (big == MAP_FAILED || small == NULL) {
        perror("allocation");
        return 1;
    }
    uint64_t x = 0x2545f4914f6cdd1dULL;
    for (size_t i = 0; i < len / 8; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = x;
    }
    for (size_t i = 0; i < (64 << 10) / 8; i++)
        small[i] = i * 0x9e3779b97f4a7c15ULL;
    struct timespec ts = { interval / 1000, (interval % 1000) * 1000000L };
    for (uint64_t counter = 0;; counter++) {
        uint64_t h = fnv(small, (64 << 10) / 8, fnv(big, len / 8, 0xcbf29ce484222325ULL));
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " t %lld\n", (int)getpid(), counter, h,
               (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        fflush(stdout);
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
            ;
    }
}
