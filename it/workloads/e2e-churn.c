/*
 * e2e-churn: a workload that reshapes its memory on every round, so that after a lazy restore it
 * forks, mremaps, madvises (MADV_DONTNEED) and munmaps while its pages are still missing.
 *
 * Four regions of MIB MiB each, filled from a generator (splitmix64 of region and word index):
 *   main  untouched after the fill;
 *   move  moved with mremap(MREMAP_FIXED) between two slots of a reservation every round;
 *   drop  first half MADV_DONTNEED every round: it must then read as zeros (any word that does
 *         not is counted as "bad" and folded into the checksum), then its first quarter is
 *         written again from the generator;
 *   unmap second half munmapped and mapped afresh every round, then written again.
 * Every round ends in the same state, so the checksum never changes. Each round then forks a
 * child that computes the checksum in its own copy and prints "child PID counter N sum HEX",
 * and the parent, once the child is reaped, prints "pid P counter N sum HEX t MS" (the
 * checksum-loop format). The round runs after the sleep, so a restored process does all of it
 * before it has touched its memory.
 *
 * usage: e2e-churn [MIB [INTERVAL_MS]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAIN, MOVE, DROP, UNMAP, REGIONS };

static size_t len;               /* bytes per region */
static uint64_t *region[REGIONS];
static uint64_t *slot[2];        /* the two places the move region alternates between */
static int moved;

static uint64_t gen(int r, size_t i)
{
    uint64_t z = ((uint64_t)r << 56) + i + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void fill(int r, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        region[r][i] = gen(r, i);
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static uint64_t checksum(uint64_t bad)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int r = 0; r < REGIONS; r++)
        for (size_t i = 0; i < len / 8; i++) {
            h ^= region[r][i];
            h *= 0x100000001b3ULL;
        }
    return h ^ (bad * 0xff51afd7ed558ccdULL);
}

/* Pages of the reshaped regions in memory now (a lazy page not yet copied in is not). */
static size_t resident(size_t *total)
{
    static unsigned char vec[1 << 20];
    size_t pages = len / 4096, n = 0;
    *total = 0;
    for (int r = MOVE; r < REGIONS; r++) {
        if (pages > sizeof(vec) || mincore(region[r], len, vec) != 0)
            die("mincore");
        for (size_t i = 0; i < pages; i++)
            n += vec[i] & 1;
        *total += pages;
    }
    return n;
}

/* Reads one byte of every page of every writable private mapping. */
static void sweep(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512], perms[8];
    unsigned long lo, hi;
    volatile unsigned char sink = 0;
    if (maps == NULL)
        die("/proc/self/maps");
    while (fgets(line, sizeof(line), maps) != NULL)
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[0] == 'r' && perms[1] == 'w' && perms[3] == 'p')
            for (unsigned long a = lo; a < hi; a += 4096)
                sink += *(volatile unsigned char *)a;
    fclose(maps);
    (void)sink;
}

/* One round of reshaping; returns the number of words that were not zero after MADV_DONTNEED. */
static uint64_t churn(void)
{
    size_t words = len / 8, half = len / 2;

    /* mremap: the whole region to the other slot; the slot left behind is reserved again. */
    uint64_t *to = slot[!moved];
    void *p = mremap(region[MOVE], len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    if (p == MAP_FAILED)
        die("mremap");
    if (mmap(region[MOVE], len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0)
        == MAP_FAILED)
        die("mmap(reserve)");
    region[MOVE] = p;
    moved = !moved;

    /* MADV_DONTNEED: the first half must read as zeros afterwards. */
    if (madvise(region[DROP], half, MADV_DONTNEED) != 0)
        die("madvise");
    uint64_t bad = 0;
    for (size_t i = 0; i < words / 2; i++)
        bad += region[DROP][i] != 0;
    fill(DROP, 0, words / 4);

    /* munmap: the second half goes away and comes back as fresh memory. */
    uint64_t *second = region[UNMAP] + words / 2;
    if (munmap(second, half) != 0)
        die("munmap");
    if (mmap(second, half, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
        != second)
        die("mmap(again)");
    fill(UNMAP, words / 2, words);
    return bad;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 16;
    long interval = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    if (mib < 1)
        mib = 1;
    len = (size_t)mib << 20;
    for (int r = 0; r < REGIONS; r++) {
        if (r == MOVE)
            continue;
        region[r] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region[r] == MAP_FAILED)
            die("mmap");
    }
    uint64_t *reservation = mmap(NULL, 2 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reservation == MAP_FAILED)
        die("mmap(reservation)");
    slot[0] = reservation;
    slot[1] = reservation + len / 8;
    region[MOVE] = mmap(slot[0], len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (region[MOVE] == MAP_FAILED)
        die("mmap(move)");
    for (int r = 0; r < REGIONS; r++)
        fill(r, 0, len / 8);

    struct timespec ts = { interval / 1000, (interval % 1000) * 1000000L };
    for (uint64_t counter = 0;; counter++) {
        if (counter > 0)
            while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
                ;
        size_t total, in = resident(&total);
        printf("round %" PRIu64 " resident %zu/%zu\n", counter, in, total);
        uint64_t bad = churn();
        if (bad != 0)
            printf("e2e-churn: %" PRIu64 " words not zero after MADV_DONTNEED\n", bad);
        fflush(stdout);
        pid_t child = fork();
        if (child < 0)
            die("fork");
        if (child == 0) {
            printf("child %d counter %" PRIu64 " sum %016" PRIx64 "\n", (int)getpid(), counter, checksum(bad));
            fflush(stdout);
            _exit(0);
        }
        int status;
        while (waitpid(child, &status, 0) < 0)
            if (errno != EINTR)
                die("waitpid");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            printf("e2e-churn: child %d ended with status 0x%x\n", (int)child, status);
        sweep();
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " t %lld\n", (int)getpid(), counter, checksum(bad),
               (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        fflush(stdout);
    }
}
