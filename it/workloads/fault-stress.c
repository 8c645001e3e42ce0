/*
 * fault-stress: reshapes its memory from several threads while its pages are still missing, and
 * checks every page against a model it keeps itself. Made to stress the lazy-pages daemon's fault
 * path: faults, UFFD_EVENT_REMAP, _REMOVE and _UNMAP from many threads while the background
 * transfer copies pages in.
 *
 * Memory: THREADS x REGIONS regions of MIB/(THREADS*REGIONS) MiB each. Every page carries a tag
 * (0 = zeros); page word i holds gen(tag, i). The tags of a region live in memory of their own,
 * which comes in lazily too.
 *
 * Its THREADS threads are created first and wait (1 ms naps) until the file "go" appears in the
 * working directory, so it can be dumped with every thread while they wait; it has then printed
 * "pid P counter 0 sum HEX bad 0". Then each thread owns REGIONS regions and runs OPS
 * pseudo-random operations on them:
 *   read    a page; a page that does not hold its tag's data counts as bad;
 *   write   a whole page with a new tag;
 *   drop    MADV_DONTNEED of 1..64 pages: they hold zeros afterwards;
 *   swap    two disjoint runs of 1..64 pages exchange places (three mremap(MREMAP_FIXED) through
 *           a scratch slot): their data moves with them;
 *   renew   munmap of 1..64 pages and a fresh anonymous mapping in their place: zeros.
 * Then the main thread checks every page of every region, and prints
 * "pid P counter 1 sum HEX bad N ops M" (sum: a hash of every tag), then again every INTERVAL ms.
 *
 * usage: fault-stress [MIB [THREADS [OPS [INTERVAL_MS]]]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define REGIONS 4
#define MAX_THREADS 16
#define MAX_RUN 64
#define PAGE 4096UL
#define WORDS (PAGE / 8)

struct region {
    uint64_t *base;
    size_t pages;
    uint32_t *tag;      /* per page; 0 = zeros */
    uint8_t *edge;      /* per page and one past the end: a mapping may begin there */
};

struct worker {
    pthread_t thread;
    int id;
    struct region region[REGIONS];
    uint64_t *scratch;  /* MAX_RUN pages reserved PROT_NONE: where a swap parks a run */
    uint64_t rng;
    uint32_t next_tag;
    long ops;
    uint64_t bad;
    uint64_t first_bad;
};

static struct worker workers[MAX_THREADS];
static int threads;
static long ops_per_thread;

static uint64_t gen(uint32_t tag, size_t i)
{
    uint64_t z = ((uint64_t)tag << 32) + i + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static uint64_t next(struct worker *w)
{
    uint64_t x = w->rng;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return w->rng = x;
}

static void fill_page(uint64_t *p, uint32_t tag)
{
    for (size_t i = 0; i < WORDS; i++)
        p[i] = tag == 0 ? 0 : gen(tag, i);
}

static int page_ok(const uint64_t *p, uint32_t tag)
{
    for (size_t i = 0; i < WORDS; i++)
        if (p[i] != (tag == 0 ? 0 : gen(tag, i)))
            return 0;
    return 1;
}

static void reserve(void *at, size_t len)
{
    if (mmap(at, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0) != at)
        die("mmap(reserve)");
}

static void die_at(const char *what, void *at)
{
    fprintf(stderr, "fault-stress: %s at %p: %s\n", what, at, strerror(errno));
    exit(1);
}

/*
 * Moves n pages from `from` to `to`, one mremap per mapping they span: a move of several mappings
 * at once is refused for those with a userfaultfd (EFAULT, after moving the ones before it).
 * edge[i] (0 < i < n) says a mapping may begin at page i.
 */
static void move(uint64_t *from, uint64_t *to, size_t n, const uint8_t *edge)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && !edge[j])
            j++;
        if (mremap(from + i * WORDS, (j - i) * PAGE, (j - i) * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to + i * WORDS)
            != to + i * WORDS)
            die_at("mremap", from + i * WORDS);
        i = j;
    }
}

static void check(struct worker *w, struct region *r, size_t page)
{
    if (!page_ok(r->base + page * WORDS, r->tag[page])) {
        if (w->bad++ == 0)
            w->first_bad = (uint64_t)(uintptr_t)(r->base + page * WORDS);
    }
}

/* A random run of 1..MAX_RUN pages inside the region: its first page and length. */
static size_t run(struct worker *w, struct region *r, size_t *n)
{
    *n = 1 + next(w) % MAX_RUN;
    if (*n > r->pages / 4)
        *n = r->pages / 4;
    return next(w) % (r->pages - *n + 1);
}

static void one_op(struct worker *w)
{
    struct region *r = &w->region[next(w) % REGIONS];
    unsigned op = next(w) % 100;
    size_t n, a = run(w, r, &n);
    if (op < 40) {
        check(w, r, a);
    } else if (op < 55) {
        uint32_t tag = ((uint32_t)(w->id + 1) << 24) | (w->next_tag++ & 0xffffff);
        fill_page(r->base + a * WORDS, tag);
        r->tag[a] = tag;
    } else if (op < 70) {
        if (madvise(r->base + a * WORDS, n * PAGE, MADV_DONTNEED) != 0)
            die_at("madvise", r->base + a * WORDS);
        memset(&r->tag[a], 0, n * sizeof(uint32_t));
    } else if (op < 88) {
        /* b: a run of the same length that does not overlap a */
        size_t b = next(w) % (r->pages - n + 1);
        if (b < a + n && a < b + n)
            return;
        uint64_t *pa = r->base + a * WORDS, *pb = r->base + b * WORDS;
        move(pa, w->scratch, n, &r->edge[a]);
        move(pb, pa, n, &r->edge[b]);
        move(w->scratch, pb, n, &r->edge[a]);
        reserve(w->scratch, n * PAGE);
        for (size_t i = 0; i < n; i++) {
            uint32_t t = r->tag[a + i];
            r->tag[a + i] = r->tag[b + i];
            r->tag[b + i] = t;
            uint8_t e = r->edge[a + i];
            r->edge[a + i] = r->edge[b + i];
            r->edge[b + i] = e;
        }
        r->edge[a] = r->edge[a + n] = r->edge[b] = r->edge[b + n] = 1;
    } else {
        uint64_t *p = r->base + a * WORDS;
        if (munmap(p, n * PAGE) != 0)
            die_at("munmap", p);
        if (mmap(p, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != p)
            die_at("mmap(renew)", p);
        memset(&r->tag[a], 0, n * sizeof(uint32_t));
        memset(&r->edge[a + 1], 0, n - 1);
        r->edge[a] = r->edge[a + n] = 1;
    }
    w->ops++;
}

static void wait_for_go(void)
{
    struct timespec ms = { 0, 1000000L };
    while (access("go", F_OK) != 0)
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL) == EINTR)
            ;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    wait_for_go();
    for (long i = 0; i < ops_per_thread; i++)
        one_op(w);
    return NULL;
}

static uint64_t tag_hash(void)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int t = 0; t < threads; t++)
        for (int k = 0; k < REGIONS; k++)
            for (size_t i = 0; i < workers[t].region[k].pages; i++) {
                h ^= workers[t].region[k].tag[i];
                h *= 0x100000001b3ULL;
            }
    return h;
}

static void print(uint64_t counter, uint64_t bad, long ops)
{
    printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " bad %" PRIu64 " ops %ld\n", (int)getpid(), counter, tag_hash(),
           bad, ops);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 64;
    threads = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 4;
    ops_per_thread = argc > 3 ? strtol(argv[3], NULL, 10) : 20000;
    long interval = argc > 4 ? strtol(argv[4], NULL, 10) : 500;
    if (threads < 1 || threads > MAX_THREADS || mib < threads)
        die("usage: fault-stress [MIB [THREADS (1-16) [OPS [INTERVAL_MS]]]]");
    size_t pages = ((size_t)mib << 20) / PAGE / threads / REGIONS;
    if (pages < 8)
        die("fault-stress: too little memory per region");
    for (int t = 0; t < threads; t++) {
        struct worker *w = &workers[t];
        w->id = t;
        w->rng = 0x2545f4914f6cdd1dULL * (uint64_t)(t + 1);
        w->scratch = mmap(NULL, MAX_RUN * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (w->scratch == MAP_FAILED)
            die("mmap(scratch)");
        for (int k = 0; k < REGIONS; k++) {
            struct region *r = &w->region[k];
            r->pages = pages;
            r->base = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            r->tag = mmap(NULL, pages * sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            r->edge = calloc(pages + 1, 1);
            if (r->base == MAP_FAILED || r->tag == MAP_FAILED || r->edge == NULL)
                die("mmap(region)");
            for (size_t i = 0; i < pages; i++) {
                r->tag[i] = (uint32_t)((t * REGIONS + k) << 20 | i) + 1;
                fill_page(r->base + i * WORDS, r->tag[i]);
            }
        }
    }
    for (int t = 0; t < threads; t++)
        if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0)
            die("pthread_create");
    print(0, 0, 0);
    for (int t = 0; t < threads; t++)
        pthread_join(workers[t].thread, NULL);
    struct timespec ts = { interval / 1000, (interval % 1000) * 1000000L };
    for (uint64_t counter = 1;; counter++) {
        uint64_t bad = 0;
        long ops = 0;
        for (int t = 0; t < threads; t++) {
            struct worker *w = &workers[t];
            for (int k = 0; k < REGIONS; k++)
                for (size_t i = 0; i < w->region[k].pages; i++)
                    check(w, &w->region[k], i);
            if (w->bad != 0)
                printf("fault-stress: thread %d: %" PRIu64 " bad pages, the first at 0x%" PRIx64 "\n", t, w->bad,
                       w->first_bad);
            bad += w->bad;
            w->bad = 0;
            ops += w->ops;
        }
        print(counter, bad, ops);
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
            ;
    }
}
