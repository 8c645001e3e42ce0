/*
 * restore-pipes: pipes, a FIFO and fds above 1000, each with bytes in flight at every instant, for
 * the pipe tests. It fills MIB MiB of anonymous memory once; then every INTERVAL ms (tick N):
 *   - writes record N into pipe A (its write end at fd 1001, its read end at fd 1500) and reads
 *     back record N-LAG: LAG records are always in A's buffer;
 *   - writes record N into pipe B (write end O_NONBLOCK) for a worker thread, which reads it and
 *     writes it on into pipe C, from which the main thread reads record N-LAG: both ways between
 *     the threads, LAG records in C's buffer (the worker sits in read(2) on B);
 *   - writes record N into the FIFO PATH (opened O_RDWR at fd 1002) and reads back N-LAG;
 *   - reads 8 bytes at offset N % 64 of the regular file HIGH (at fd 1000, read with pread).
 * Records are 64 bytes: the counter and a pattern derived from it. Any record out of sequence,
 * damaged, missing or repeated, and any fd gone, prints "ERROR ..." and exits 1. Each tick prints
 *   pid P counter N sum HEX t MS inA X inC Y inF Z fds OK nofile L szC S
 * where X, Y, Z are the records read so far from each, L is RLIMIT_NOFILE's soft limit, which it
 * sets to 1501 at start (its highest fd is 1500), hard 4096, and S is pipe C's size (F_GETPIPE_SZ),
 * which it sets to 128 KiB at start.
 *
 * usage: restore-pipes MIB INTERVAL_MS FIFO HIGH
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LAG 3
#define REC 64
#define A_WRITE 1001
#define A_READ 1500
#define FIFO_FD 1002
#define HIGH_FD 1000

static int b_read, c_write;

static void fail(const char *what, uint64_t n)
{
    printf("ERROR %s at record %" PRIu64 " (errno %d %s)\n", what, n, errno, strerror(errno));
    fflush(stdout);
    exit(1);
}

static void record(uint64_t n, unsigned char *r)
{
    memcpy(r, &n, 8);
    for (int i = 8; i < REC; i++)
        r[i] = (unsigned char)(n * 31 + i);
}

static void put(int fd, uint64_t n, const char *what)
{
    unsigned char r[REC];
    record(n, r);
    if (write(fd, r, REC) != REC)
        fail(what, n);
}

static void get(int fd, uint64_t n, const char *what)
{
    unsigned char r[REC], want[REC];
    ssize_t got = 0;
    while (got < REC) {
        ssize_t k = read(fd, r + got, REC - got);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            fail(what, n);
        }
        got += k;
    }
    record(n, want);
    if (memcmp(r, want, REC) != 0) {
        uint64_t seen;
        memcpy(&seen, r, 8);
        printf("ERROR %s: expected record %" PRIu64 ", read record %" PRIu64 "%s\n", what, n, seen,
               seen == n ? " (damaged)" : "");
        fflush(stdout);
        exit(1);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    unsigned char r[REC];
    for (;;) {
        ssize_t got = 0;
        while (got < REC) {
            ssize_t k = read(b_read, r + got, REC - got);
            if (k <= 0) {
                if (k < 0 && errno == EINTR)
                    continue;
                fail("worker read B", 0);
            }
            got += k;
        }
        if (write(c_write, r, REC) != REC)
            fail("worker write C", 0);
    }
    return NULL;
}

static uint64_t fnv(const uint64_t *w, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void move_to(int fd, int to)
{
    if (dup2(fd, to) != to || close(fd) != 0) {
        perror("dup2");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: restore-pipes MIB INTERVAL_MS FIFO HIGH\n");
        return 2;
    }
    size_t len = (size_t)strtol(argv[1], NULL, 10) << 20;
    long interval = strtol(argv[2], NULL, 10);
    struct rlimit nofile = { 4096, 4096 };
    if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) {
        perror("setrlimit");
        return 2;
    }
    int a[2], b[2], c[2];
    if (pipe(a) != 0 || pipe2(b, O_CLOEXEC) != 0 || pipe(c) != 0) {
        perror("pipe");
        return 2;
    }
    move_to(a[1], A_WRITE);
    move_to(a[0], A_READ);
    if (fcntl(b[1], F_SETFL, O_NONBLOCK) != 0 || fcntl(c[0], F_SETPIPE_SZ, 1 << 17) < 0) {
        perror("fcntl");
        return 2;
    }
    b_read = b[0];
    c_write = c[1];
    if (mkfifo(argv[3], 0600) != 0 && errno != EEXIST) {
        perror("mkfifo");
        return 2;
    }
    int f = open(argv[3], O_RDWR);
    int h = open(argv[4], O_RDONLY);
    if (f < 0 || h < 0) {
        perror("open");
        return 2;
    }
    move_to(f, FIFO_FD);
    move_to(h, HIGH_FD);
    nofile.rlim_cur = A_READ + 1;
    if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) {
        perror("setrlimit");
        return 2;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0) {
        perror("pthread_create");
        return 2;
    }
    uint64_t *big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < len / 8; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = x;
    }
    struct timespec ts = { interval / 1000, (interval % 1000) * 1000000L };
    uint64_t in_a = 0, in_c = 0, in_f = 0;
    for (uint64_t n = 0;; n++) {
        uint64_t sum = fnv(big, len / 8, 0xcbf29ce484222325ULL);
        put(A_WRITE, n, "write A");
        put(b[1], n, "write B");
        put(FIFO_FD, n, "write FIFO");
        if (n >= LAG) {
            get(A_READ, n - LAG, "read A");
            in_a++;
            get(c[0], n - LAG, "read C");
            in_c++;
            get(FIFO_FD, n - LAG, "read FIFO");
            in_f++;
        }
        char byte8[8];
        if (pread(HIGH_FD, byte8, 8, (off_t)(n % 64)) != 8)
            fail("pread HIGH at fd 1000", n);
        struct rlimit now;
        getrlimit(RLIMIT_NOFILE, &now);
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " t %lld inA %" PRIu64 " inC %" PRIu64 " inF %" PRIu64
               " fds OK nofile %llu szC %d\n",
               (int)getpid(), n, sum, (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000, in_a, in_c, in_f,
               (unsigned long long)now.rlim_cur, fcntl(c[0], F_GETPIPE_SZ));
        fflush(stdout);
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
            ;
    }
}
