/*
 * restore-signals: a checksum loop with signal state to restore. SIGUSR1 has a counting handler
 * (SA_RESTART, SIGINT masked while it runs), SIGTERM a second one (SA_SIGINFO), SIGPIPE and
 * SIGHUP are ignored, SIGUSR2 is blocked. It fills MIB MiB once, then every INTERVAL ms prints
 *   pid P counter N sum HEX t MS usr1 K term T
 * with K and T the times each handler has run.
 *
 * usage: restore-signals MIB INTERVAL_MS
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1;
static volatile sig_atomic_t term;

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

static void on_term(int sig, siginfo_t *info, void *ctx)
{
    (void)sig, (void)info, (void)ctx;
    term++;
}

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
    size_t len = (size_t)(argc > 1 ? strtol(argv[1], NULL, 10) : 16) << 20;
    long interval = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    struct sigaction st;
    memset(&st, 0, sizeof st);
    st.sa_sigaction = on_term;
    st.sa_flags = SA_SIGINFO;
    sigemptyset(&st.sa_mask);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    if (sigaction(SIGUSR1, &sa, NULL) || sigaction(SIGTERM, &st, NULL) || signal(SIGPIPE, SIG_IGN) == SIG_ERR
        || signal(SIGHUP, SIG_IGN) == SIG_ERR || sigprocmask(SIG_BLOCK, &block, NULL)) {
        perror("signals");
        return 1;
    }
    uint64_t *big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    uint64_t x = 0x853c49e6748fea9bULL;
    for (size_t i = 0; i < len / 8; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = x;
    }
    struct timespec ts = { interval / 1000, (interval % 1000) * 1000000L };
    for (uint64_t counter = 0;; counter++) {
        uint64_t h = fnv(big, len / 8, 0xcbf29ce484222325ULL);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " t %lld usr1 %d term %d\n", (int)getpid(), counter, h,
               (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000, (int)usr1, (int)term);
        fflush(stdout);
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR)
            ;
    }
}
