/*
 * shared-memory: a parent and a child sharing memory two ways, for dump and restore of shmem.
 * Before forking, the parent maps KIB KiB of MAP_SHARED|MAP_ANONYMOUS memory ("anon") and a memfd
 * named "lazymig-shared" of the same size, mapped MAP_SHARED and also held open on fd 3 ("memfd").
 * Page 0 of each holds the two counters (slot 0 the parent's, slot 1 the child's); the other pages
 * hold a pattern of a fixed seed (one per region), filled once. Every INTERVAL_MS each process adds
 * one to its own counter in both regions, reads the other's (in the memfd also through fd 3, with
 * pread), checks both patterns, and prints:
 *   role R pid P counter N peer-anon A peer-memfd M peer-fd F sum-anon X sum-memfd Y sum-private Z
 *   sum-sealed S seals L ok|BAD
 * A peer value that advances in R's lines is a write by the other process seen through the shared
 * page: shared after restore too when it keeps advancing. X and Y are FNV-1a checksums of each
 * region but its page 0 (the pattern pages), equal before and after a migration when every byte
 * came back; Z the same of KIB KiB of private anonymous memory filled before the fork (copy-on-write
 * shared, the part a lazy restore fetches on demand); S the same of a second memfd, "lazymig-sealed",
 * held on fd 4 only (never mapped), of 5000 bytes (not a whole number of pages) read with pread,
 * and L its seals (F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE|F_SEAL_SEAL = 0xf). BAD: a pattern changed, or a peer counter went backwards. The child dies with the
 * parent (PR_SET_PDEATHSIG).
 * With DIR (make e2e), each role writes those lines to DIR/ROLE.log instead, and the parent also
 * prints "pid P counter N sum S ok|BAD" on stdout, S a checksum of the five checksums above.
 * usage: shared-memory KIB INTERVAL_MS [DIR]
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define SEALED_BYTES 5000

static size_t bytes;
static const char *dir;
static const unsigned char *private_region;
static long interval_ms;

static void fill(uint64_t *p, size_t words, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i < words; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = x;
    }
}

static int same(const uint64_t *p, size_t words, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i < words; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (p[i] != x)
            return 0;
    }
    return 1;
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void run(const char *role, int slot, volatile uint64_t *anon, volatile uint64_t *memfd)
{
    size_t words = (bytes - PAGE) / 8;
    uint64_t counter = 0, last_anon = 0, last_memfd = 0;
    struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };
    FILE *out = stdout;
    if (dir != NULL) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.log", dir, role);
        out = fopen(path, "a");
        if (out == NULL) {
            perror("shared-memory: role log");
            exit(1);
        }
    }
    for (;;) {
        counter++;
        __atomic_store_n(&anon[slot], counter, __ATOMIC_SEQ_CST);
        __atomic_store_n(&memfd[slot], counter, __ATOMIC_SEQ_CST);
        uint64_t peer_anon = __atomic_load_n(&anon[1 - slot], __ATOMIC_SEQ_CST);
        uint64_t peer_memfd = __atomic_load_n(&memfd[1 - slot], __ATOMIC_SEQ_CST);
        uint64_t peer_fd = 0;
        int fd_ok = pread(3, &peer_fd, sizeof(peer_fd), (off_t)(1 - slot) * 8) == sizeof(peer_fd);
        uint64_t sum_anon = fnv((const unsigned char *)anon + PAGE, bytes - PAGE);
        uint64_t sum_memfd = fnv((const unsigned char *)memfd + PAGE, bytes - PAGE);
        uint64_t sum_private = fnv(private_region, bytes);
        unsigned char sealed[SEALED_BYTES + 1];
        struct stat st;
        int sealed_ok = fstat(4, &st) == 0 && st.st_size == SEALED_BYTES
                        && pread(4, sealed, sizeof(sealed), 0) == SEALED_BYTES;
        uint64_t sum_sealed = fnv(sealed, SEALED_BYTES);
        int seals = fcntl(4, F_GET_SEALS);
        int ok = fd_ok && sealed_ok && peer_fd >= peer_memfd && peer_anon >= last_anon && peer_memfd >= last_memfd
                 && same((const uint64_t *)((const char *)anon + PAGE), words, 0xa11cea11)
                 && same((const uint64_t *)((const char *)memfd + PAGE), words, 0x3e3f0d);
        last_anon = peer_anon;
        last_memfd = peer_memfd;
        fprintf(out, "role %s pid %d counter %" PRIu64 " peer-anon %" PRIu64 " peer-memfd %" PRIu64 " peer-fd %" PRIu64
               " sum-anon %016" PRIx64 " sum-memfd %016" PRIx64 " sum-private %016" PRIx64 " sum-sealed %016" PRIx64
               " seals 0x%x %s\n", role, (int)getpid(), counter, peer_anon, peer_memfd, peer_fd, sum_anon, sum_memfd,
               sum_private, sum_sealed, seals, ok ? "ok" : "BAD");
        fflush(out);
        if (dir != NULL && slot == 0) {
            uint64_t sums[5] = { sum_anon, sum_memfd, sum_private, sum_sealed, (uint64_t)seals };
            printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " %s\n", (int)getpid(), counter,
                   fnv((const unsigned char *)sums, sizeof(sums)), ok ? "ok" : "BAD");
            fflush(stdout);
        }
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: shared-memory KIB INTERVAL_MS [DIR]\n");
        return 2;
    }
    dir = argc == 4 ? argv[3] : NULL;
    bytes = (size_t)strtoul(argv[1], NULL, 10) * 1024;
    interval_ms = strtol(argv[2], NULL, 10);
    if (bytes < 2 * PAGE || bytes % PAGE != 0 || interval_ms <= 0) {
        fprintf(stderr, "shared-memory: KIB a multiple of 4, at least 8; INTERVAL_MS > 0\n");
        return 2;
    }
    uint64_t *anon = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fd = memfd_create("lazymig-shared", 0);
    if (anon == MAP_FAILED || fd != 3 || ftruncate(fd, (off_t)bytes) != 0) {
        perror("shared-memory: setup");
        return 1;
    }
    uint64_t *memfd = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (memfd == MAP_FAILED) {
        perror("shared-memory: mmap memfd");
        return 1;
    }
    uint64_t *priv = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (priv == MAP_FAILED) {
        perror("shared-memory: mmap private");
        return 1;
    }
    fill(priv, bytes / 8, 0x9e3779b9);
    private_region = (const unsigned char *)priv;
    int sealed = memfd_create("lazymig-sealed", MFD_ALLOW_SEALING);
    unsigned char text[SEALED_BYTES];
    for (int i = 0; i < SEALED_BYTES; i++)
        text[i] = (unsigned char)(i * 7 + 3);
    if (sealed != 4 || write(sealed, text, sizeof(text)) != (ssize_t)sizeof(text)
        || fcntl(sealed, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
        perror("shared-memory: sealed memfd");
        return 1;
    }
    fill((uint64_t *)((char *)anon + PAGE), (bytes - PAGE) / 8, 0xa11cea11);
    fill((uint64_t *)((char *)memfd + PAGE), (bytes - PAGE) / 8, 0x3e3f0d);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        perror("shared-memory: fork");
        return 1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(0);
        run("child", 1, anon, memfd);
    }
    run("parent", 0, anon, memfd);
    return 0;
}
