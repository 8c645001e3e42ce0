/*
 * restore-thread-state: a pthread program whose per-thread signal and scheduling state must
 * survive dump and restore. It fills MIB MiB once, sets up
 *   main    nice 2, an alternate stack registered with SS_AUTODISARM (it never runs on it);
 *           takes SIGUSR1 (the only thread that does), which asks for the check below
 *   alt     an alternate stack (64 KiB), and a SIGURG handler (SA_ONSTACK) it raised itself and
 *           stays in: it runs on its alternate stack, asleep in clock_nanosleep, until the check
 *   niced   SCHED_BATCH at nice 7; SIGUSR2 (tgkill: queued with SI_TKILL, which glibc's sigtimedwait
 *           reports as SI_USER) and SIGRTMIN+3 (pthread_sigqueue, value
 *           0x7777) are pending for it alone, and blocked
 *   idle    SCHED_IDLE
 * and, for the whole process, SIGHUP (kill) then SIGRTMIN+2 twice (sigqueue, values 0x5eed0001
 * and 0x5eed0002) pending and blocked in every thread. It prints "ready tids MAIN ALT NICED
 * IDLE", then every INTERVAL ms "pid P counter N sum HEX". After SIGUSR1 each thread checks
 * itself (sigaltstack(NULL, &ss), getpriority / sched_getscheduler, sigpending, then takes its
 * pending signals with sigtimedwait and checks their siginfo) and prints one line:
 *   "check sched ok", "check niced ok", "check alt ok", "check main ok", then "check done"
 * or "MISMATCH ..." (and exit 2) at the first difference.
 *
 * usage: restore-thread-state MIB INTERVAL_MS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31) /* linux/signal.h; glibc 2.36 does not define it */
#endif

#define ALT_SIZE (64 * 1024)
#define MAIN_ALT_SIZE (32 * 1024)
#define NICED_VALUE 0x7777
#define SHARED_VALUE_1 0x5eed0001
#define SHARED_VALUE_2 0x5eed0002

static char alt_stack[ALT_SIZE] __attribute__((aligned(16)));
static char main_alt_stack[MAIN_ALT_SIZE] __attribute__((aligned(16)));
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t check_requested;
static volatile int phase;          /* 1: niced and alt check themselves */
static volatile int niced_done, alt_done, in_handler, ready_count;
static pid_t tid_main, tid_alt, tid_niced, tid_idle;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&lock);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&lock);
    va_end(ap);
}

#define MISMATCH(...)                                                                                              \
    do {                                                                                                           \
        say("MISMATCH " __VA_ARGS__);                                                                              \
        exit(2);                                                                                                   \
    } while (0)

static pid_t gettid_(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static void nap(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

/* Takes signal `sig` (pending and blocked) at once, or fails. */
static siginfo_t take(int sig, const char *who)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    struct timespec zero = { 0, 0 };
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (sigtimedwait(&one, &si, &zero) != sig)
        MISMATCH("%s: signal %d is not pending (%s)", who, sig, strerror(errno));
    return si;
}

static void expect_none(int sig, const char *who)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    struct timespec zero = { 0, 0 };
    if (sigtimedwait(&one, NULL, &zero) != -1 || errno != EAGAIN)
        MISMATCH("%s: signal %d pending once more", who, sig);
}

static void expect_pending(const int *sigs, int n, const char *who)
{
    sigset_t p;
    sigpending(&p);
    for (int i = 0; i < n; i++)
        if (!sigismember(&p, sigs[i]))
            MISMATCH("%s: signal %d not in sigpending", who, sigs[i]);
}

static void on_usr1(int sig)
{
    (void)sig;
    check_requested = 1;
}

static void on_other(int sig)
{
    (void)sig; /* SIGHUP, SIGUSR2, RT signals: handled, but they stay blocked */
}

/* The alt thread's SIGURG handler: on the alternate stack until the check, which it runs here. */
static void on_urg(int sig)
{
    (void)sig;
    char here;
    stack_t ss;
    sigaltstack(NULL, &ss);
    if (!(ss.ss_flags & SS_ONSTACK) || &here < alt_stack || &here >= alt_stack + ALT_SIZE)
        MISMATCH("alt: handler not on the alternate stack (flags %d)", ss.ss_flags);
    in_handler = 1;
    while (phase < 1)
        nap(10);
    sigaltstack(NULL, &ss);
    if (ss.ss_sp != alt_stack || ss.ss_size != ALT_SIZE || ss.ss_flags != SS_ONSTACK)
        MISMATCH("alt: in the handler sigaltstack is sp %p size %zu flags %d, expected %p %d %d", ss.ss_sp,
                 ss.ss_size, ss.ss_flags, (void *)alt_stack, ALT_SIZE, SS_ONSTACK);
    if (&here < alt_stack || &here >= alt_stack + ALT_SIZE)
        MISMATCH("alt: handler runs off the alternate stack");
}

static void *alt(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "alt");
    tid_alt = gettid_();
    stack_t ss = { .ss_sp = alt_stack, .ss_size = ALT_SIZE, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) != 0)
        MISMATCH("alt: sigaltstack: %s", strerror(errno));
    __sync_fetch_and_add(&ready_count, 1);
    raise(SIGURG); /* runs on_urg on the alternate stack, which returns only at the check */
    stack_t after;
    sigaltstack(NULL, &after);
    if (after.ss_sp != alt_stack || after.ss_size != ALT_SIZE || after.ss_flags != 0)
        MISMATCH("alt: after the handler sigaltstack is sp %p size %zu flags %d", after.ss_sp, after.ss_size,
                 after.ss_flags);
    say("check alt ok sp %p size %zu onstack-then-off", (void *)alt_stack, (size_t)ALT_SIZE);
    alt_done = 1;
    for (;;)
        nap(1000);
    return NULL;
}

static void *niced(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "niced");
    tid_niced = gettid_();
    struct sched_param p = { 0 };
    if (sched_setscheduler(0, SCHED_BATCH, &p) != 0 || setpriority(PRIO_PROCESS, 0, 7) != 0)
        MISMATCH("niced: scheduling: %s", strerror(errno));
    __sync_fetch_and_add(&ready_count, 1);
    while (phase < 1)
        nap(10);
    int own[] = { SIGUSR2, SIGRTMIN + 3, SIGHUP, SIGRTMIN + 2 };
    expect_pending(own, 4, "niced");
    siginfo_t a = take(SIGUSR2, "niced");
    /* the kernel queues tgkill's with SI_TKILL (the image says so); glibc's sigtimedwait reports it as SI_USER */
    if (a.si_code != SI_USER || a.si_pid != getpid())
        MISMATCH("niced: SIGUSR2 code %d pid %d, expected tgkill's from %d", a.si_code, a.si_pid, getpid());
    expect_none(SIGUSR2, "niced");
    siginfo_t b = take(SIGRTMIN + 3, "niced");
    if (b.si_code != SI_QUEUE || b.si_value.sival_int != NICED_VALUE || b.si_pid != getpid())
        MISMATCH("niced: SIGRTMIN+3 code %d value %#x pid %d", b.si_code, b.si_value.sival_int, b.si_pid);
    expect_none(SIGRTMIN + 3, "niced");
    sigset_t left;
    sigpending(&left);
    if (!sigismember(&left, SIGHUP) || !sigismember(&left, SIGRTMIN + 2))
        MISMATCH("niced: the process-wide signals went with its own");
    say("check niced ok SIGUSR2 code %d SIGRTMIN+3 value %#x", a.si_code, b.si_value.sival_int);
    niced_done = 1;
    for (;;)
        nap(1000);
    return NULL;
}

static void *idle(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "idle");
    tid_idle = gettid_();
    struct sched_param p = { 0 };
    if (sched_setscheduler(0, SCHED_IDLE, &p) != 0)
        MISMATCH("idle: scheduling: %s", strerror(errno));
    __sync_fetch_and_add(&ready_count, 1);
    for (;;)
        nap(1000);
    return NULL;
}

static void expect_sched(pid_t tid, int policy, int nice, const char *who)
{
    int pol = sched_getscheduler(tid);
    errno = 0;
    int n = getpriority(PRIO_PROCESS, (id_t)tid);
    if (pol != policy || n != nice || errno != 0)
        MISMATCH("%s: policy %d nice %d, expected %d %d", who, pol, n, policy, nice);
}

static void check(void)
{
    expect_sched(tid_main, SCHED_OTHER, 2, "main");
    expect_sched(tid_alt, SCHED_OTHER, 0, "alt");
    expect_sched(tid_niced, SCHED_BATCH, 7, "niced");
    expect_sched(tid_idle, SCHED_IDLE, 0, "idle");
    say("check sched ok main 2 alt 0 niced batch 7 idle idle");
    phase = 1;
    while (!niced_done || !alt_done)
        nap(10);
    stack_t ss;
    sigaltstack(NULL, &ss);
    if (ss.ss_sp != main_alt_stack || ss.ss_size != MAIN_ALT_SIZE || (unsigned)ss.ss_flags != (unsigned)SS_AUTODISARM)
        MISMATCH("main: sigaltstack sp %p size %zu flags %#x", ss.ss_sp, ss.ss_size, (unsigned)ss.ss_flags);
    int shared[] = { SIGHUP, SIGRTMIN + 2 };
    expect_pending(shared, 2, "main");
    siginfo_t h = take(SIGHUP, "main");
    if (h.si_code != SI_USER || h.si_pid != getpid())
        MISMATCH("main: SIGHUP code %d pid %d", h.si_code, h.si_pid);
    siginfo_t q1 = take(SIGRTMIN + 2, "main");
    siginfo_t q2 = take(SIGRTMIN + 2, "main");
    if (q1.si_code != SI_QUEUE || q1.si_value.sival_int != SHARED_VALUE_1 || q2.si_value.sival_int != SHARED_VALUE_2)
        MISMATCH("main: SIGRTMIN+2 values %#x %#x, expected in queue order", q1.si_value.sival_int,
                 q2.si_value.sival_int);
    expect_none(SIGRTMIN + 2, "main");
    expect_none(SIGHUP, "main");
    say("check main ok altstack autodisarm SIGHUP code %d SIGRTMIN+2 values %#x %#x", h.si_code,
        q1.si_value.sival_int, q2.si_value.sival_int);
    say("check done");
}

static uint64_t fnv(const uint64_t *w, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int main(int argc, char **argv)
{
    size_t len = (size_t)(argc > 1 ? strtol(argv[1], NULL, 10) : 16) << 20;
    long interval = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
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
    tid_main = gettid_();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_other;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGRTMIN + 2, &sa, NULL);
    sigaction(SIGRTMIN + 3, &sa, NULL);
    sa.sa_handler = on_urg;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGURG, &sa, NULL);

    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    sigaddset(&blocked, SIGHUP);
    sigaddset(&blocked, SIGUSR2);
    sigaddset(&blocked, SIGRTMIN + 2);
    sigaddset(&blocked, SIGRTMIN + 3);
    pthread_sigmask(SIG_BLOCK, &blocked, NULL); /* inherited by every thread */

    stack_t ss = { .ss_sp = main_alt_stack, .ss_size = MAIN_ALT_SIZE, .ss_flags = (int)SS_AUTODISARM };
    if (sigaltstack(&ss, NULL) != 0) {
        perror("sigaltstack");
        return 1;
    }
    static pthread_t t[3];
    if (pthread_create(&t[0], NULL, alt, NULL) || pthread_create(&t[1], NULL, niced, NULL)
        || pthread_create(&t[2], NULL, idle, NULL)) {
        perror("pthread_create");
        return 1;
    }
    if (setpriority(PRIO_PROCESS, 0, 2) != 0) { /* main only: the threads keep nice 0 */
        perror("setpriority");
        return 1;
    }
    while (ready_count < 3 || !in_handler || !tid_idle)
        nap(5);
    union sigval v;
    if (syscall(SYS_tgkill, getpid(), tid_niced, SIGUSR2) != 0)
        MISMATCH("tgkill: %s", strerror(errno));
    v.sival_int = NICED_VALUE;
    if (pthread_sigqueue(t[1], SIGRTMIN + 3, v) != 0)
        MISMATCH("pthread_sigqueue failed");
    if (kill(getpid(), SIGHUP) != 0)
        MISMATCH("kill: %s", strerror(errno));
    v.sival_int = SHARED_VALUE_1;
    if (sigqueue(getpid(), SIGRTMIN + 2, v) != 0)
        MISMATCH("sigqueue: %s", strerror(errno));
    v.sival_int = SHARED_VALUE_2;
    if (sigqueue(getpid(), SIGRTMIN + 2, v) != 0)
        MISMATCH("sigqueue: %s", strerror(errno));
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    say("ready tids %d %d %d %d", tid_main, tid_alt, tid_niced, tid_idle);

    for (uint64_t counter = 0;; counter++) {
        uint64_t sum = fnv(big, len / 8);
        say("pid %d counter %" PRIu64 " sum %016" PRIx64, (int)getpid(), counter, sum);
        nap(interval);
        if (check_requested) {
            check_requested = 0;
            check();
        }
    }
}
