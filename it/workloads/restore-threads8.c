/*
 * restore-threads8: 8 threads and process timers, for restoring timers with threads. It fills MIB
 * MiB once, arms ITIMER_REAL (10 ms), ITIMER_VIRTUAL (100 ms of user time) and ITIMER_PROF (50 ms
 * of CPU time), and three POSIX timers (after making and deleting one, so the ids start at 1: a
 * gap restore must keep), then runs
 *   main      "pid P counter N sum HEX verified V1 verified2 V2 real R posix X wrong W wakes1 C1
 *             wakes2 C2 naps S usr2 U virt VT prof PR none_ms M" each time the ticker ticks (a
 *             futex wait on a condition variable in between); V1/V2 count the busy threads'
 *             steps checked so far, R the SIGALRMs, VT the SIGVTALRMs, PR the SIGPROFs, X the
 *             POSIX timer signals that reached the chosen thread, W those that reached another
 *             thread or carried a wrong value, C1/C2 the waiters' wake-ups, S the napper's naps,
 *             M what is left of the SIGEV_NONE timer in ms
 *   ticker    clock_nanosleep of INTERVAL ms, retried on EINTR; once the file "go" exists in the
 *             cwd, it asks waiter2 to finish
 *   napper    nanosleep of 7 ms, retried on EINTR; the only thread that takes SIGALRM, SIGVTALRM
 *             and SIGPROF
 *   waiter1   pthread_cond_wait on the ticks, counting wake-ups
 *   waiter2   the same, until asked to finish; main then joins it ("joined waiter2"), creates a
 *             thread "late" and joins it ("late ran", "joined late")
 *   busy1/2   a busy loop stepping an LCG whose state lives in TLS (two seeds); every 2^16 steps
 *             it publishes (steps, state), which main checks by jumping its own LCG ahead
 *   target    pause(); the only thread that takes SIGRTMIN+1, which POSIX timer 1
 *             (SIGEV_THREAD_ID, CLOCK_MONOTONIC, 20 ms, value 0xfeed) sends it
 * POSIX timer 2 sends SIGUSR2 to the process every 50 ms (CLOCK_REALTIME), which only main takes
 * (U in its line: "usr2 U"); timer 3 is SIGEV_NONE on CLOCK_BOOTTIME, one-shot in 1000 s.
 * Each thread has its own blocked mask. A wrong result prints "MISMATCH ..." and exits 2.
 *
 * usage: restore-threads8 MIB INTERVAL_MS
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
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LCG_A 6364136223846793005ULL
#define LCG_C 1442695040888963407ULL
#define PUBLISH_EVERY (1u << 16)
#define TIMER_VALUE 0xfeed

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ticked = PTHREAD_COND_INITIALIZER;
static uint64_t ticks, wakes[2], naps;
static int finish;
static uint64_t published_steps[2], published_state[2];
static long interval_ms;
static pid_t target_tid;
static pthread_t target_thread;
static volatile uint64_t real_ticks, posix_ticks, posix_wrong, usr2_ticks, virt_ticks, prof_ticks;
static timer_t to_target, to_process, quiet;

static __thread uint64_t tls_state;
static __thread uint64_t tls_steps;

static const uint64_t seeds[2] = { 42, 0x9e3779b97f4a7c15ULL };

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

static void on_itimer(int sig)
{
    if (sig == SIGALRM)
        real_ticks++;
    else if (sig == SIGVTALRM)
        virt_ticks++;
    else
        prof_ticks++;
}

static void on_usr2(int sig)
{
    (void)sig;
    usr2_ticks++;
}

static void on_timer(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (pthread_equal(pthread_self(), target_thread) && si->si_code == SI_TIMER
        && si->si_value.sival_int == TIMER_VALUE)
        posix_ticks++;
    else
        posix_wrong++;
}

static void say(const char *what)
{
    pthread_mutex_lock(&lock);
    printf("%s\n", what);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
}

/* This thread blocks every signal but {@code sig} and {@code sig2} (0: none). */
static void only2(int sig, int sig2)
{
    sigset_t set;
    sigfillset(&set);
    if (sig)
        sigdelset(&set, sig);
    if (sig2)
        sigdelset(&set, sig2);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
}

static void only(int sig)
{
    only2(sig, 0);
}

static void *ticker(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "ticker");
    only(0);
    for (;;) {
        struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };
        struct timespec rem;
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem) == EINTR)
            ts = rem;
        int go = access("go", F_OK) == 0;
        pthread_mutex_lock(&lock);
        ticks++;
        if (go)
            finish = 1;
        pthread_cond_broadcast(&ticked);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *napper(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "napper");
    only2(SIGALRM, SIGVTALRM);
    sigset_t prof;
    sigemptyset(&prof);
    sigaddset(&prof, SIGPROF);
    pthread_sigmask(SIG_UNBLOCK, &prof, NULL);
    for (;;) {
        struct timespec ts = { 0, 7000000L }, rem;
        while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
            ts = rem;
        pthread_mutex_lock(&lock);
        naps++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    pthread_setname_np(pthread_self(), i == 0 ? "waiter1" : "waiter2");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigaddset(&set, SIGRTMIN + 1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, i == 0 ? SIGHUP : SIGTERM); /* masks differ per thread */
    pthread_sigmask(SIG_SETMASK, &set, NULL);
    pthread_mutex_lock(&lock);
    for (uint64_t seen = ticks; i == 0 || !finish;) {
        pthread_cond_wait(&ticked, &lock);
        if (ticks != seen) {
            seen = ticks;
            wakes[i]++;
        }
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *busy(void *arg)
{
    int i = (int)(intptr_t)arg;
    pthread_setname_np(pthread_self(), i == 0 ? "busy1" : "busy2");
    only(0);
    tls_state = seeds[i];
    for (;;) {
        tls_state = tls_state * LCG_A + LCG_C;
        if (++tls_steps % PUBLISH_EVERY == 0) {
            pthread_mutex_lock(&lock);
            published_steps[i] = tls_steps;
            published_state[i] = tls_state;
            pthread_mutex_unlock(&lock);
        }
    }
    return NULL;
}

static void *target(void *arg)
{
    pthread_setname_np(pthread_self(), "target");
    only(SIGRTMIN + 1);
    target_tid = (pid_t)syscall(SYS_gettid);
    target_thread = pthread_self();
    pthread_mutex_lock(&lock);
    *(int *)arg = 1;
    pthread_cond_broadcast(&ticked);
    pthread_mutex_unlock(&lock);
    for (;;)
        pause();
    return NULL;
}

static void *late(void *arg)
{
    (void)arg;
    say("late ran");
    return NULL;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void make_timer(clockid_t clock, struct sigevent *ev, timer_t *t, long first_ns, long every_ns)
{
    if (timer_create(clock, ev, t) != 0)
        die("timer_create");
    struct itimerspec its = { { every_ns / 1000000000L, every_ns % 1000000000L },
                              { first_ns / 1000000000L, first_ns % 1000000000L } };
    if (timer_settime(*t, 0, &its, NULL) != 0)
        die("timer_settime");
}

int main(int argc, char **argv)
{
    size_t len = (size_t)(argc > 1 ? strtol(argv[1], NULL, 10) : 16) << 20;
    interval_ms = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
    uint64_t *big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED)
        die("mmap");
    uint64_t x = 0xd1b54a32d192ed03ULL;
    for (size_t i = 0; i < len / 8; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = x;
    }
    struct sigaction sa = { 0 };
    /* SA_NODEFER: a thread's SigBlk read while it runs a handler is still its own mask */
    sa.sa_flags = SA_NODEFER;
    sa.sa_handler = on_itimer;
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGVTALRM, &sa, NULL);
    sigaction(SIGPROF, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    sa.sa_handler = NULL;
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_NODEFER | SA_SIGINFO;
    sigaction(SIGRTMIN + 1, &sa, NULL);
    only(0); /* inherited by every thread; each sets its own */

    static pthread_t t[7];
    int target_up = 0;
    if (pthread_create(&t[0], NULL, ticker, NULL) || pthread_create(&t[1], NULL, napper, NULL)
        || pthread_create(&t[2], NULL, waiter, (void *)0) || pthread_create(&t[3], NULL, waiter, (void *)1)
        || pthread_create(&t[4], NULL, busy, (void *)0) || pthread_create(&t[5], NULL, busy, (void *)1)
        || pthread_create(&t[6], NULL, target, &target_up))
        die("pthread_create");
    pthread_mutex_lock(&lock);
    while (!target_up)
        pthread_cond_wait(&ticked, &lock);
    pthread_mutex_unlock(&lock);

    struct sigevent ev = { 0 };
    timer_t gap;
    ev.sigev_notify = SIGEV_NONE;
    if (timer_create(CLOCK_MONOTONIC, &ev, &gap) != 0 || timer_delete(gap) != 0)
        die("timer_create (gap)");
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGRTMIN + 1;
    ev.sigev_value.sival_int = TIMER_VALUE;
    ev._sigev_un._tid = target_tid;
    make_timer(CLOCK_MONOTONIC, &ev, &to_target, 20000000L, 20000000L);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    ev.sigev_value.sival_int = 2;
    make_timer(CLOCK_REALTIME, &ev, &to_process, 50000000L, 50000000L);
    ev.sigev_notify = SIGEV_NONE;
    make_timer(CLOCK_BOOTTIME, &ev, &quiet, 1000000000000L, 0);
    struct itimerval real = { { 0, 10000 }, { 0, 10000 } };
    struct itimerval virt = { { 0, 100000 }, { 0, 100000 } };
    struct itimerval prof = { { 0, 50000 }, { 0, 50000 } };
    if (setitimer(ITIMER_REAL, &real, NULL) != 0 || setitimer(ITIMER_VIRTUAL, &virt, NULL) != 0
        || setitimer(ITIMER_PROF, &prof, NULL) != 0)
        die("setitimer");
    only(SIGUSR2);

    uint64_t seen = 0, verified[2] = { 0, 0 }, mirror[2] = { seeds[0], seeds[1] };
    int joined = 0;
    for (uint64_t counter = 0;; counter++) {
        pthread_mutex_lock(&lock);
        while (ticks == seen)
            pthread_cond_wait(&ticked, &lock);
        seen = ticks;
        uint64_t steps[2] = { published_steps[0], published_steps[1] };
        uint64_t state[2] = { published_state[0], published_state[1] };
        uint64_t w0 = wakes[0], w1 = wakes[1], n = naps;
        int fin = finish;
        pthread_mutex_unlock(&lock);
        for (int i = 0; i < 2; i++) {
            if (steps[i] < verified[i]) {
                printf("MISMATCH busy%d steps went back from %" PRIu64 " to %" PRIu64 "\n", i + 1, verified[i],
                       steps[i]);
                return 2;
            }
            mirror[i] = lcg_jump(mirror[i], steps[i] - verified[i]);
            verified[i] = steps[i];
            if (mirror[i] != state[i]) {
                printf("MISMATCH busy%d state at step %" PRIu64 "\n", i + 1, steps[i]);
                return 2;
            }
        }
        if (fin && !joined) {
            if (pthread_join(t[3], NULL) != 0) {
                say("MISMATCH join of waiter2 failed");
                return 2;
            }
            say("joined waiter2");
            pthread_t l;
            if (pthread_create(&l, NULL, late, NULL) != 0 || pthread_join(l, NULL) != 0) {
                say("MISMATCH late thread");
                return 2;
            }
            say("joined late");
            joined = 1;
        }
        struct itimerspec left;
        if (timer_gettime(quiet, &left) != 0)
            die("timer_gettime");
        uint64_t sum = fnv(big, len / 8);
        pthread_mutex_lock(&lock);
        printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " verified %" PRIu64 " verified2 %" PRIu64
               " real %" PRIu64 " posix %" PRIu64 " wrong %" PRIu64 " wakes1 %" PRIu64 " wakes2 %" PRIu64
               " naps %" PRIu64 " usr2 %" PRIu64 " virt %" PRIu64 " prof %" PRIu64 " none_ms %lld\n",
               (int)getpid(), counter, sum, verified[0], verified[1], real_ticks, posix_ticks, posix_wrong, w0, w1, n,
               usr2_ticks, virt_ticks, prof_ticks,
               (long long)left.it_value.tv_sec * 1000 + left.it_value.tv_nsec / 1000000);
        fflush(stdout);
        pthread_mutex_unlock(&lock);
    }
}
