/*
 * restore-threads: a pthread program for restoring threads. It fills MIB MiB once, then runs
 *   main      "pid P counter N sum HEX verified V" each time the ticker ticks (a futex wait on a
 *             condition variable in between); V counts the busy thread's steps checked so far
 *   ticker    clock_nanosleep of INTERVAL ms, retried on EINTR; the only thread that takes
 *             SIGUSR1 (the others block it): its handler asks the finisher to finish
 *   busy      a busy loop stepping an LCG whose state lives in TLS; every 2^16 steps it
 *             publishes (steps, state), which main checks by jumping its own LCG ahead
 *   finisher  waits on a condition variable until SIGUSR1 came, then exits
 *   joiner    pthread_join(finisher) (a futex wait on its tid, woken by CLONE_CHILD_CLEARTID),
 *             prints "joined finisher", then creates a thread "late" and joins it:
 *             "late ran" and "joined late"
 * A wrong result prints "MISMATCH ..." and exits 2.
 *
 * usage: restore-threads MIB INTERVAL_MS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define LCG_A 6364136223846793005ULL
#define LCG_C 1442695040888963407ULL
#define PUBLISH_EVERY (1u << 16)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ticked = PTHREAD_COND_INITIALIZER;
static uint64_t ticks;
static volatile sig_atomic_t finish_requested;
static int finish;
static uint64_t published_steps, published_state;
static long interval_ms;

static __thread uint64_t tls_state;
static __thread uint64_t tls_steps;

static uint64_t fnv(const uint64_t *w, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* x -> a*x + c applied n times, as one affine map (square and multiply). */
static uint64_t lcg_jump(uint64_t x, uint64_t n)
{
    uint64_t a = 1, c = 0, pa = LCG_A, pc = LCG_C;
    while (n) {
        if (n & 1) {
            a = a * pa;
            c = c * pa + pc;
        }
        pc = pc * pa + pc;
        pa = pa * pa;
        n >>= 1;
    }
    return a * x + c;
}

static void on_usr1(int sig)
{
    (void)sig;
    finish_requested = 1;
}

static void say(const char *what)
{
    pthread_mutex_lock(&lock);
    printf("%s\n", what);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
}

static void *ticker(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "ticker");
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    for (;;) {
        struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };
        struct timespec rem;
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem) == EINTR)
            ts = rem;
        pthread_mutex_lock(&lock);
        ticks++;
        if (finish_requested)
            finish = 1;
        pthread_cond_broadcast(&ticked);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *busy(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "busy");
    tls_state = 42;
    for (;;) {
        tls_state = tls_state * LCG_A + LCG_C;
        if (++tls_steps % PUBLISH_EVERY == 0) {
            pthread_mutex_lock(&lock);
            published_steps = tls_steps;
            published_state = tls_state;
            pthread_mutex_unlock(&lock);
        }
    }
    return NULL;
}

static void *finisher(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "finisher");
    pthread_mutex_lock(&lock);
    while (!finish)
        pthread_cond_wait(&ticked, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *late(void *arg)
{
    (void)arg;
    say("late ran");
    return NULL;
}

static void *joiner(void *arg)
{
    pthread_setname_np(pthread_self(), "joiner");
    pthread_t *f = arg;
    if (pthread_join(*f, NULL) != 0) {
        say("MISMATCH join of finisher failed");
        exit(2);
    }
    say("joined finisher");
    pthread_t l;
    if (pthread_create(&l, NULL, late, NULL) != 0 || pthread_join(l, NULL) != 0) {
        say("MISMATCH late thread");
        exit(2);
    }
    say("joined late");
    return NULL;
}

int main(int argc, char **argv)
{
    size_t len = (size_t)(argc > 1 ? strtol(argv[1], NULL, 10) : 16) << 20;
    interval_ms = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
    uint64_t *big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    uint64_t x = 0xd1b54a32d192ed03ULL;
    for (size_t i = 0; i < len / 8; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = x;
    }
    signal(SIGUSR1, on_usr1);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* inherited by every thread; the ticker unblocks it */

    static pthread_t t[4];
    if (pthread_create(&t[0], NULL, ticker, NULL) || pthread_create(&t[1], NULL, busy, NULL)
        || pthread_create(&t[2], NULL, finisher, NULL) || pthread_create(&t[3], NULL, joiner, &t[2])) {
        perror("pthread_create");
        return 1;
    }

    uint64_t seen = 0, verified = 0, mirror = 42;
    for (uint64_t counter = 0;; counter++) {
        pthread_mutex_lock(&lock);
        while (ticks == seen)
            pthread_cond_wait(&ticked, &lock);
        seen = ticks;
        uint64_t steps = published_steps, state = published_state;
        pthread_mutex_unlock(&lock);
        if (steps < verified) {
            printf("MISMATCH busy steps went back from %" PRIu64 " to %" PRIu64 "\n", verified, steps);
            return 2;
        }
        mirror = lcg_jump(mirror, steps - verified);
        verified = steps;
        if (mirror != state) {
            printf("MISMATCH busy state at step %" PRIu64 "\n", steps);
            return 2;
        }
        uint64_t sum = fnv(big, len / 8);
        pthread_mutex_lock(&lock);
        printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " verified %" PRIu64 "\n", (int)getpid(), counter, sum,
               verified);
        fflush(stdout);
        pthread_mutex_unlock(&lock);
    }
}
