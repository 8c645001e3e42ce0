/*
 * restore-files: a checksum loop that also does file I/O whose offsets the test can check. It
 * fills MIB MiB of anonymous memory once; then every INTERVAL ms it reads 8 bytes from READ (opened
 * read-only, started at offset START), appends "counter N\n" to APPEND (opened O_APPEND), and
 * prints
 *   pid P counter N sum HEX t MS rpos R got HEX apos A
 * where R and A are the fds' offsets after the read and the append (lseek SEEK_CUR: the kernel's
 * file position) and got is the 8 bytes read, little-endian. Restored offsets keep
 * R == START + 8 * (N + 1) and A == the length of the lines appended so far.
 *
 * usage: restore-files MIB INTERVAL_MS APPEND READ START
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    if (argc != 6) {
        fprintf(stderr, "usage: restore-files MIB INTERVAL_MS APPEND READ START\n");
        return 2;
    }
    size_t len = (size_t)strtol(argv[1], NULL, 10) << 20;
    long interval = strtol(argv[2], NULL, 10);
    int afd = open(argv[3], O_WRONLY | O_APPEND | O_CREAT, 0644);
    int rfd = open(argv[4], O_RDONLY);
    if (afd < 0 || rfd < 0 || lseek(rfd, strtol(argv[5], NULL, 10), SEEK_SET) < 0) {
        perror("open");
        return 1;
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
    for (uint64_t counter = 0;; counter++) {
        uint64_t h = fnv(big, len / 8, 0xcbf29ce484222325ULL);
        uint64_t got = 0;
        if (read(rfd, &got, sizeof got) != (ssize_t)sizeof got) {
            perror("read");
            return 1;
        }
        char line[64];
        int n = snprintf(line, sizeof line, "counter %" PRIu64 "\n", counter);
        if (write(afd, line, n) != n) {
            perror("write");
            return 1;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " t %lld rpos %lld got %016" PRIx64 " apos %lld\n",
               (int)getpid(), counter, h, (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000,
               (long long)lseek(rfd, 0, SEEK_CUR), got, (long long)lseek(afd, 0, SEEK_CUR));
        fflush(stdout);
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
            ;
    }
}
