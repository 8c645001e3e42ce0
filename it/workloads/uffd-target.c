/*
 * uffd-target: maps PAGES anonymous pages it never touches, prints their address, stops itself
 * with SIGSTOP (the test registers the region with a userfaultfd meanwhile), then reads every
 * page and prints a checksum of the whole region: "sum <hex>".
 *
 * usage: uffd-target PAGES
 */
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* FNV-1a over 64-bit words: cheap, order-sensitive, and easy to recompute in Java. */
static uint64_t checksum(const uint64_t *words, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= words[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PAGES\n", argv[0]);
        return 2;
    }
    long pages = strtol(argv[1], NULL, 10);
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)pages * (size_t)page;
    uint64_t *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    printf("region %p pages %ld\n", (void *)region, pages);
    fflush(stdout);
    raise(SIGSTOP);
    printf("sum %016" PRIx64 "\n", checksum(region, len / sizeof(uint64_t)));
    fflush(stdout);
    return 0;
}
