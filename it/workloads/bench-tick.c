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
 * With THREADS > 1, THREADS threads (the main one included) each tick so on a slice of their own
 * (1/THREADS of the memory, PAGES/THREADS pages a tick each: the same work as one thread, shared),
 * and the line's maxgap is the largest gap of any thread: the effective downtime of a
 * multi-threaded service, comparable with the single-threaded one.
 *
 * With PROCS > 1, the process forks PROCS - 1 children before it fills any memory: a tree of
 * PROCS processes (the parent and its children, one process group), each with 1/PROCS of the memory
 * of its own (filled after the fork: nothing shared copy-on-write) and PAGES/PROCS pages a tick,
 * each ticking in THREADS threads as above. Each process prints its own lines, ending in
 * "proc I" (0 is the parent); the tree's effective downtime is the largest maxgap of the first
 * line of every process after the migration. A child whose parent is gone exits.
 *
 *
 * With IDLE > 0, each process has IDLE more threads waiting on a condition variable that is never
 * signalled (a runtime's parked pool threads): they do no work but are dumped and restored with
 * the rest, so the downtime of a process with many threads compares with that of one with few.
 *
 * usage: bench-tick MIB [TICK_US [PAGES [THREADS [PROCS [IDLE]]]]]   (defaults 2000, 64, 1, 1 and 0)
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

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

/* One ticking thread's slice and state; max_gap and max_gap_end are read by the printing thread. */
struct ticker {
    uint64_t *mem;
    unsigned long pages, per_tick;
    long long tick_us;
    long long max_gap, max_gap_end;
    uint64_t sum;
    unsigned long n;
};

#define MAX_THREADS 64
static struct ticker tickers[MAX_THREADS];
static int nthreads = 1;
static int proc_index; /* 0 for the parent, 1.. for the children of a tree */

/* Ticks for ever: the gap since the last tick, then the sample and the walk folded into the sum;
 * the printing thread's line carries the largest gap of any thread and its own sum. */
static void tick_loop(struct ticker *t, int prints)
{
    unsigned long pages = t->pages;
    unsigned long sample = t->per_tick / 2, walk = t->per_tick - sample;
    unsigned long stride = pages / sample ? pages / sample : 1;
    unsigned long walk_at = 0, offset = 0;
    long long last = wall_us(), next_print = last + 1000000;
    for (;;) {
        long long now = wall_us();
        if (now - last > t->max_gap) {
            __atomic_store_n(&t->max_gap_end, now, __ATOMIC_RELAXED);
            __atomic_store_n(&t->max_gap, now - last, __ATOMIC_RELEASE);
        }
        last = now;
        /* The sample: one page every stride, the offset moving by one page a tick. */
        uint64_t s = 0;
        for (unsigned long i = 0; i < sample; i++) {
            s += t->mem[((i * stride + offset) % pages) * (PAGE / 8)];
        }
        for (unsigned long i = 0; i < walk; i++) {
            s += t->mem[walk_at * (PAGE / 8) + 1];
            walk_at = (walk_at + 1) % pages;
        }
        t->sum = t->sum * 31 + s;
        offset = (offset + 1) % stride;
        t->n++;
        if (prints && now >= next_print) {
            long long gap = 0, gap_end = 0;
            for (int i = 0; i < nthreads; i++) {
                long long g = __atomic_load_n(&tickers[i].max_gap, __ATOMIC_ACQUIRE);
                if (g > gap) {
                    gap = g;
                    gap_end = __atomic_load_n(&tickers[i].max_gap_end, __ATOMIC_RELAXED);
                }
            }
            printf("tick %lu t %lld maxgap_us %lld maxgap_end_ms %lld sum %016" PRIx64 " proc %d\n", t->n, now / 1000, gap,
                   gap_end / 1000, t->sum, proc_index);
            fflush(stdout);
            next_print = now + 1000000;
        }
        long long due = last + t->tick_us;
        if (wall_us() < due) {
            sleep_until_us(due);
        }
    }
}

static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t parked = PTHREAD_COND_INITIALIZER;

/* A parked pool thread: waits on a condition nobody signals. */
static void *idle_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&parked_lock);
    for (;;) {
        pthread_cond_wait(&parked, &parked_lock);
    }
    return NULL;
}

static void *tick_thread(void *arg)
{
    tick_loop(arg, 0);
    return NULL;
}

/* Forks the PROCS - 1 children of a tree; returns in each process with proc_index set. */
static void fork_tree(int nprocs)
{
    pid_t parent = getpid();
    for (int i = 1; i < nprocs; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("bench-tick: fork");
            exit(1);
        }
        if (pid == 0) {
            proc_index = i;
            /* no orphan keeps ticking (and holding its memory) once the benchmark kills the parent */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) {
                exit(1);
            }
            return;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-tick MIB [TICK_US [PAGES [THREADS [PROCS [IDLE]]]]]\n");
        return 2;
    }
    unsigned long mib = strtoul(argv[1], NULL, 10);
    long long tick_us = argc > 2 ? strtoll(argv[2], NULL, 10) : 2000;
    unsigned long per_tick = argc > 3 ? strtoul(argv[3], NULL, 10) : 64;
    nthreads = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 1;
    int nprocs = argc > 5 ? (int)strtol(argv[5], NULL, 10) : 1;
    int idle = argc > 6 ? (int)strtol(argv[6], NULL, 10) : 0;
    if (nprocs < 1 || nprocs > MAX_THREADS) {
        fprintf(stderr, "bench-tick: bad arguments\n");
        return 2;
    }
    unsigned long pages = mib * (1UL << 20) / PAGE / (unsigned long)nprocs;
    per_tick /= (unsigned long)nprocs;
    if (nthreads < 1 || nthreads > MAX_THREADS || pages / (unsigned long)nthreads == 0 || tick_us <= 0 || per_tick / (unsigned long)nthreads < 2
        || per_tick / (unsigned long)nthreads > pages / (unsigned long)nthreads || idle < 0 || idle > 4096) {
        fprintf(stderr, "bench-tick: bad arguments\n");
        return 2;
    }
    fork_tree(nprocs);
    uint64_t *mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        perror("bench-tick: mmap");
        return 1;
    }
    uint64_t x = 0x2545F4914F6CDD1DULL + (uint64_t)proc_index;
    for (unsigned long i = 0; i < pages * PAGE / 8; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        mem[i] = x;
    }
    unsigned long slice = pages / (unsigned long)nthreads;
    for (int i = 0; i < nthreads; i++) {
        tickers[i] = (struct ticker){ .mem = mem + (unsigned long)i * slice * (PAGE / 8), .pages = slice,
                                      .per_tick = per_tick / (unsigned long)nthreads, .tick_us = tick_us };
    }
    for (int i = 0; i < idle; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, idle_thread, NULL) != 0) {
            fprintf(stderr, "bench-tick: pthread_create failed\n");
            return 1;
        }
    }
    printf("ready pages %lu tick_us %lld per_tick %lu threads %d proc %d of %d\n", pages, tick_us, per_tick, nthreads,
           proc_index, nprocs);
    fflush(stdout);
    for (int i = 1; i < nthreads; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, tick_thread, &tickers[i]) != 0) {
            fprintf(stderr, "bench-tick: pthread_create failed\n");
            return 1;
        }
    }
    tick_loop(&tickers[0], 1);
    return 0;
}
