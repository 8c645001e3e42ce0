/*
 * bench-touch: the benchmark's workload. Fills MIB MiB with xorshift data, prints "ready", then
 * waits for SIGUSR1 (it is dumped and restored meanwhile), printing "tick t MS" (wall clock) every
 * TICK_MS meanwhile: the last tick before the dump and the first after the restore give the
 * downtime as the process sees it. On SIGUSR1 it makes one pass over every page in MODE order (seq
 * or random), timing each page's first touch as the process sees it, and prints one JSON line:
 * fault latency percentiles, a CDF (the latency at each percent and in the tail) and the pass
 * time. Then it keeps printing "pid P counter N sum HEX" like checksum-loop.
 * With "auto" it starts the pass by itself on the first tick after it finds itself moved: in another
 * network namespace (the benchmark's hosts are namespaces) or after a gap of GAP_MS or more in its
 * ticks (it was frozen, dumped and restored). The pass then begins as soon as the process runs on
 * A, as an application's own work would, with nobody's signal in between.
 *
 * With "split" it asks mincore(2) before each touch whether the page is already in, and gives the
 * percentiles of the touches that faulted apart ("faults", "fault_p50_us", ..., "fault_cdf_us"):
 * where a background transfer runs meanwhile (CRIU's cannot be held back), most touches are hits
 * and only these say what a fault costs. mincore costs a syscall per page, outside the timing but
 * inside the pass time: fault-latency runs only.
 *
 * usage: bench-touch MIB [seq|random] [auto] [split]
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
    (void)sig;
    go = 1;
}

#define TICK_MS 20
#define GAP_MS 400

static long long wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The inode of this process's network namespace: it changes when the process moves host. */
static ino_t net_ns(void)
{
    struct stat st;
    return stat("/proc/self/ns/net", &st) == 0 ? st.st_ino : 0;
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* "NAME": [[percent, latency]...] of sorted v[n]: every percent, then the tail in finer steps */
static void print_cdf(const char *name, const float *v, size_t n)
{
    static const double tail[] = { 99.5, 99.8, 99.9, 99.95, 99.99, 100 };
    printf("\"%s\": [", name);
    for (int i = 1; i < 100; i++)
        printf("[%d, %.2f], ", i, v[n * (size_t)i / 100]);
    for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
        size_t at = (size_t)((double)n * tail[i] / 100);
        printf("[%g, %.2f]%s", tail[i], v[at < n ? at : n - 1], i + 1 < sizeof(tail) / sizeof(tail[0]) ? ", " : "");
    }
    printf("]");
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 256;
    int random_order = argc > 2 && strcmp(argv[2], "random") == 0;
    int automatic = 0, split = 0;
    for (int i = 3; i < argc; i++) {
        automatic |= strcmp(argv[i], "auto") == 0;
        split |= strcmp(argv[i], "split") == 0;
    }
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)mib << 20, pages = len / (size_t)page;
    uint64_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint32_t *order = malloc(pages * sizeof(uint32_t));
    float *lat = malloc(pages * sizeof(float));
    float *flt = malloc(pages * sizeof(float));
    if (mem == MAP_FAILED || order == NULL || lat == NULL || flt == NULL)
        return 1;
    uint64_t x = 0x2545f4914f6cdd1dULL;
    for (size_t i = 0; i < len / 8; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        mem[i] = x;
    }
    for (size_t i = 0; i < pages; i++)
        order[i] = (uint32_t)i;
    if (random_order) {
        for (size_t i = pages - 1; i > 0; i--) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t j = x % (i + 1);
            uint32_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
    memset(lat, 0, pages * sizeof(float)); /* touched now, so the timing pass faults only on mem */
    memset(flt, 0, pages * sizeof(float));
    struct sigaction sa = { .sa_handler = on_usr1 };
    sigaction(SIGUSR1, &sa, NULL);
    printf("ready pid %d pages %zu\n", (int)getpid(), pages);
    fflush(stdout);
    long long last = 0;
    ino_t home = net_ns();
    while (!go) {
        long long t = wall_ms();
        printf("tick t %lld\n", t);
        fflush(stdout);
        if (automatic && ((last != 0 && t - last >= GAP_MS) || net_ns() != home))
            break;
        last = t;
        struct timespec tick = { 0, TICK_MS * 1000000L };
        nanosleep(&tick, NULL); /* SIGUSR1 cuts it short */
    }

    volatile uint64_t sink = 0;
    size_t faults = 0;
    double start = now_us();
    for (size_t i = 0; i < pages; i++) {
        uint64_t *at = &mem[(size_t)order[i] * ((size_t)page / 8)];
        unsigned char in = 0;
        if (split && mincore((void *)at, (size_t)page, &in) != 0)
            in = 0;
        double t0 = now_us();
        sink += *at;
        lat[i] = (float)(now_us() - t0);
        if (split && !(in & 1))
            flt[faults++] = lat[i];
    }
    double pass = now_us() - start;
    qsort(lat, pages, sizeof(float), cmp);
    printf("{\"pages\": %zu, \"pass_s\": %.4f, \"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, \"max_us\": %.2f, ",
           pages, pass / 1e6, lat[pages / 2], lat[pages * 9 / 10], lat[pages * 99 / 100], lat[pages - 1]);
    print_cdf("cdf_us", lat, pages);
    if (split && faults > 0) {
        qsort(flt, faults, sizeof(float), cmp);
        printf(", \"faults\": %zu, \"fault_p50_us\": %.2f, \"fault_p90_us\": %.2f, \"fault_p99_us\": %.2f, \"fault_max_us\": %.2f, ",
               faults, flt[faults / 2], flt[faults * 9 / 10], flt[faults * 99 / 100], flt[faults - 1]);
        print_cdf("fault_cdf_us", flt, faults);
    }
    printf("}\n");
    fflush(stdout);
    for (uint64_t counter = 0;; counter++) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < len / 8; i++) {
            h ^= mem[i];
            h *= 0x100000001b3ULL;
        }
        printf("pid %d counter %" PRIu64 " sum %016" PRIx64 "\n", (int)getpid(), counter, h);
        fflush(stdout);
        sleep(1);
    }
}
