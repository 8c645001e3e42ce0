/*
 * bench-tick: the benchmark's service-like workload, for the effective downtime. Fills MIB MiB with
 * xorshift data, then works like a service: every TICK_US it touches PAGES pages of its memory
 * (half a sample spread over all of it, at an offset that moves each tick; half a walk going on
 * through it page after page) and folds them into a checksum. A migration is seen as a gap
 * between two ticks: the freeze on B, the restore on A and every page the tick waits for on A.
 *
 * Each tick's wall-clock start (CLOCK_REALTIME, so that two hosts compare) is checked against the
 * previous one; the largest gap and when it ended are kept in its own memory, so they travel with
 * the process. Once a second it prints one line:
 *   tick N t MS maxgap_us G maxgap_end_ms E sum HEX
 * and the effective downtime of a migration is the maxgap of the first line printed after every
 * page is in, less one tick period (the driver knows the gap did not exist before: it reads the
 * line before the freeze too). "sum" folds in every byte read, so that the reads are done (the
 * benchmark proves nothing with it; the ITs prove migrations byte-exact).
 *
 * usage: bench-tick MIB [TICK_US [PAGES]]   (defaults 2000 and 64)
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096UL

static long long wall_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void sleep_until_us(long long when)
{
    struct timespec t = { .tv_sec = when / 1000000, .tv_nsec = (when % 1000000) * 1000 };
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &t, NULL) != 0) {
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-tick MIB [TICK_US [PAGES]]\n");
        return 2;
    }
    unsigned long mib = strtoul(argv[1], NULL, 10);
    long long tick_us = argc > 2 ? strtoll(argv[2], NULL, 10) : 2000;
    unsigned long per_tick = argc > 3 ? strtoul(argv[3], NULL, 10) : 64;
    unsigned long pages = mib * (1UL << 20) / PAGE;
    if (pages == 0 || tick_us <= 0 || per_tick < 2 || per_tick > pages) {
        fprintf(stderr, "bench-tick: bad arguments\n");
        return 2;
    }
    uint64_t *mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        perror("bench-tick: mmap");
        return 1;
    }
    uint64_t x = 0x2545F4914F6CDD1DULL;
    for (unsigned long i = 0; i < pages * PAGE / 8; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        mem[i] = x;
    }

    unsigned long sample = per_tick / 2, walk = per_tick - sample;
    unsigned long stride = pages / sample ? pages / sample : 1;
    unsigned long walk_at = 0, offset = 0, n = 0;
    long long last = wall_us(), next_print = last + 1000000, max_gap = 0, max_gap_end = 0;
    uint64_t sum = 0;
    printf("ready pages %lu tick_us %lld per_tick %lu\n", pages, tick_us, per_tick);
    fflush(stdout);
    for (;;) {
        long long now = wall_us();
        if (now - last > max_gap) {
            max_gap = now - last;
            max_gap_end = now;
        }
        last = now;
        /* The sample: one page every stride, the offset moving by one page a tick. */
        uint64_t s = 0;
        for (unsigned long i = 0; i < sample; i++) {
            s += mem[((i * stride + offset) % pages) * (PAGE / 8)];
        }
        for (unsigned long i = 0; i < walk; i++) {
            s += mem[walk_at * (PAGE / 8) + 1];
            walk_at = (walk_at + 1) % pages;
        }
        sum = sum * 31 + s;
        offset = (offset + 1) % stride;
        n++;
        if (now >= next_print) {
            printf("tick %lu t %lld maxgap_us %lld maxgap_end_ms %lld sum %016" PRIx64 "\n", n, now / 1000, max_gap,
                   max_gap_end / 1000, sum);
            fflush(stdout);
            next_print = now + 1000000;
        }
        long long due = last + tick_us;
        if (wall_us() < due) {
            sleep_until_us(due);
        }
    }
}
