/*
 * restore-tree: a process tree for dump and restore. The root leads a session of its own and forks
 * three children and one zombie: child "a" leads a process group and forks a grandchild "g" into
 * it; child "b" stays in the root's group; child "c" leads a session of its own; child "z" exits at
 * once with code 42 and stays a zombie until the root reaps it (once OUTDIR/reap exists). Every
 * live process fills MIB MiB of private memory of its own (a seed per role) and, every
 * INTERVAL_MS, checks its checksum and a 1 MiB region all inherited copy-on-write from the root,
 * and appends one line to OUTDIR/ROLE.log:
 *   role R pid P ppid PP pgid G sid S counter N sum X cow Y ok|BAD
 * Every process also prints its counter to stdout, which they all share (one open file
 * description, inherited): the root "pid P counter N", the others "role R counter N". The root
 * writes "reaped Z status E" to root.log when it reaps the zombie. Usage: restore-tree MIB INTERVAL_MS OUTDIR
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static size_t mib;
static long interval_ms;
static const char *outdir;
static uint64_t *cow;
static size_t cow_words = (1 << 20) / 8;
static uint64_t cow_sum;

static uint64_t fill(uint64_t *p, size_t words, uint64_t seed)
{
    uint64_t x = seed | 1, sum = 0;
    for (size_t i = 0; i < words; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = x;
        sum = sum * 31 + x;
    }
    return sum;
}

static uint64_t checksum(const uint64_t *p, size_t words)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < words; i++)
        sum = sum * 31 + p[i];
    return sum;
}

static void nap(void)
{
    struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int open_log(const char *role)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.log", outdir, role);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
        perror(path);
        exit(2);
    }
    return fd;
}

/* The loop of every live process; the root also reaps the zombie when told to. */
static void run(const char *role, uint64_t seed, pid_t zombie)
{
    size_t words = mib * (1 << 20) / 8;
    uint64_t *mem = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    uint64_t expected = fill(mem, words, seed);
    int log = open_log(role);
    char reap[4096];
    snprintf(reap, sizeof(reap), "%s/reap", outdir);
    for (uint64_t n = 0;; n++) {
        uint64_t sum = checksum(mem, words);
        uint64_t c = checksum(cow, cow_words);
        int ok = sum == expected && c == cow_sum;
        int pdeath = -1;
        prctl(PR_GET_PDEATHSIG, &pdeath);
        dprintf(log, "role %s pid %d ppid %d pgid %d sid %d counter %" PRIu64 " sum %016" PRIx64 " cow %016" PRIx64
                " pdeath %d %s\n", role, getpid(), getppid(), getpgid(0), getsid(0), n, sum, c, pdeath, ok ? "ok" : "BAD");
        if (zombie >= 0) {
            printf("pid %d counter %" PRIu64 "\n", getpid(), n);
        } else {
            printf("role %s counter %" PRIu64 "\n", role, n);
        }
        if (zombie > 0) {
            if (access(reap, F_OK) == 0) {
                int st;
                pid_t r = waitpid(zombie, &st, WNOHANG);
                dprintf(log, "reaped %d status %d\n", r, r == zombie && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
                zombie = 0;
            }
        }
        nap();
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s MIB INTERVAL_MS OUTDIR\n", argv[0]);
        return 2;
    }
    mib = strtoul(argv[1], NULL, 10);
    interval_ms = strtol(argv[2], NULL, 10);
    outdir = argv[3];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (getsid(0) != getpid() && setsid() < 0) {
        perror("setsid");
        return 2;
    }
    cow = mmap(NULL, cow_words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (cow == MAP_FAILED)
        return 2;
    cow_sum = fill(cow, cow_words, 99);

    pid_t z = fork();
    if (z == 0)
        _exit(42);
    pid_t a = fork();
    if (a == 0) {
        setpgid(0, 0);
        if (fork() == 0)
            run("g", 9, -1);
        run("a", 3, -1);
    }
    if (fork() == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* restored with it: its parent is in the tree */
        run("b", 5, -1);
    }
    if (fork() == 0) {
        setsid();
        run("c", 7, -1);
    }
    run("root", 1, z);
    return 0;
}
