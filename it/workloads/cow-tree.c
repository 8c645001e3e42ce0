/*
 * cow-tree: a parent and three children sharing private memory copy-on-write, for dump once and
 * restore shared. The parent maps MIB MiB of private anonymous memory, fills it with a pattern of a
 * fixed seed, then forks three children (c0, c1, c2); c1 rewrites the first PERCENT % of its copy
 * (default 50: the first half) with a pattern of another seed, the others never write it, nor does the parent after the fork: c0's
 * and c2's copies and the rest of c1's stay the parent's very pages (one PFN in every
 * /proc/PID/pagemap). Every INTERVAL_MS each process checks its whole region against the patterns
 * it expects and writes to DIR/ROLE.log:
 *   role R pid P ppid Q counter N addr A sum S ok|BAD
 * A the region's address (hex), S a checksum of the region (equal before and after a migration
 * when every byte came back), BAD when a byte is not what the patterns say. Reading never breaks
 * the sharing. The children die with the parent (PR_SET_PDEATHSIG).
 * usage: cow-tree MIB INTERVAL_MS DIR [PERCENT]
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define SEED_SHARED 0x5eed0001ULL
#define SEED_OWN 0x5eed0002ULL

static uint64_t *region;
static size_t words;

/* The pattern's word i for seed: a cheap mix, so a check reads the region at memory speed. */
static uint64_t word(uint64_t seed, size_t i)
{
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL ^ seed;
    x ^= x >> 29;
    return x * 0xbf58476d1ce4e5b9ULL;
}

static void fill(size_t from, size_t to, uint64_t seed)
{
    for (size_t i = from; i < to; i++)
        region[i] = word(seed, i);
}

static void run(const char *dir, const char *role, size_t own_words, long interval_ms)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.log", dir, role);
    FILE *log = fopen(path, "a");
    if (!log) {
        perror(path);
        exit(1);
    }
    setvbuf(log, NULL, _IOLBF, 0);
    struct timespec pause = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
    for (uint64_t counter = 1;; counter++) {
        uint64_t sum = 0;
        int ok = 1;
        for (size_t i = 0; i < words; i++) {
            uint64_t w = region[i];
            ok &= w == word(i < own_words ? SEED_OWN : SEED_SHARED, i);
            sum = (sum ^ w) * 0x100000001b3ULL;
        }
        fprintf(log, "role %s pid %d ppid %d counter %" PRIu64 " addr %lx sum %016" PRIx64 " %s\n", role, getpid(),
                getppid(), counter, (unsigned long)region, sum, ok ? "ok" : "BAD");
        nanosleep(&pause, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s MIB INTERVAL_MS DIR [PERCENT]\n", argv[0]);
        return 2;
    }
    long percent = argc == 5 ? atol(argv[4]) : 50;
    size_t bytes = (size_t)atol(argv[1]) << 20;
    long interval_ms = atol(argv[2]);
    words = bytes / 8;
    region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    fill(0, words, SEED_SHARED);
    pid_t parent = getpid();
    static const char *roles[] = {"c0", "c1", "c2"};
    for (int k = 0; k < 3; k++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                return 1;
            size_t own = k == 1 ? words * percent / 100 / 512 * 512 : 0; /* whole pages */
            fill(0, own, SEED_OWN);
            run(argv[3], roles[k], own, interval_ms);
        }
    }
    run(argv[3], "parent", 0, interval_ms);
    return 0;
}
