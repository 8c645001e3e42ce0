/*
 * rseq-cs: a thread that is almost always inside an rseq critical section, as a per-CPU allocator's
 * fast path is for a moment. Its main thread enters a critical section that never commits (a jump
 * to itself) and leaves it only through the abort handler, which the kernel takes when the thread is
 * preempted or gets a signal there; a second thread signals it every millisecond (SIGUSR1, a
 * handler that does nothing) and prints
 *   pid P counter N sum HEX t MS aborts A
 * every INTERVAL ms. A grows as long as the kernel knows the critical section; a restore (or a
 * dump that resumes it) that loses the section leaves the main thread spinning for ever: A stops.
 * Exits 2 when glibc registered no rseq area (GLIBC_TUNABLES=glibc.pthread.rseq=0, glibc < 2.35).
 *
 * usage: rseq-cs INTERVAL_MS
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <time.h>
#include <unistd.h>

#ifndef RSEQ_SIG
#define RSEQ_SIG 0x53053053
#endif

static volatile uint64_t aborts;
static struct rseq_cs section __attribute__((aligned(32)));
static pthread_t spinner;
static uint64_t memory[1 << 14];

extern const char rseq_cs_start[], rseq_cs_post_commit[], rseq_cs_abort[];

/* Enters the critical section; returns once the kernel aborted it. */
static __attribute__((noinline)) void spin_once(volatile __u64 *cs_slot)
{
    __asm__ volatile(
        "movq %[desc], (%[slot])\n\t"
        ".globl rseq_cs_start\n"
        "rseq_cs_start:\n\t"
        "jmp rseq_cs_start\n"
        ".globl rseq_cs_post_commit\n"
        "rseq_cs_post_commit:\n\t"
        "jmp 9f\n\t"
        ".long " "0x53053053" "\n"
        ".globl rseq_cs_abort\n"
        "rseq_cs_abort:\n"
        "9:\n\t"
        :
        : [desc] "r"((uint64_t)(uintptr_t)&section), [slot] "r"(cs_slot)
        : "memory");
}

static void nothing(int sig)
{
    (void)sig;
}

static void *report(void *arg)
{
    long interval = (long)(intptr_t)arg;
    uint64_t sum = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < sizeof(memory) / 8; i++) {
        sum = (sum ^ memory[i]) * 0x100000001b3ULL;
    }
    struct timespec ms = { 0, 1000000 };
    for (uint64_t counter = 0;; counter++) {
        for (long i = 0; i < interval; i++) {
            pthread_kill(spinner, SIGUSR1);
            nanosleep(&ms, NULL);
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        printf("pid %d counter %" PRIu64 " sum %016" PRIx64 " t %lld aborts %" PRIu64 "\n", (int)getpid(), counter,
               sum, (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000, aborts);
        fflush(stdout);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long interval = argc > 1 ? strtol(argv[1], NULL, 10) : 50;
    if (__rseq_size == 0) {
        fprintf(stderr, "rseq-cs: glibc registered no rseq area\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(memory) / 8; i++) {
        memory[i] = i * 0x9e3779b97f4a7c15ULL;
    }
    section.version = 0;
    section.flags = 0;
    section.start_ip = (uint64_t)(uintptr_t)rseq_cs_start;
    section.post_commit_offset = (uint64_t)(rseq_cs_post_commit - rseq_cs_start);
    section.abort_ip = (uint64_t)(uintptr_t)rseq_cs_abort;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = nothing;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    spinner = pthread_self();
    struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
    pthread_t t;
    if (pthread_create(&t, NULL, report, (void *)(intptr_t)interval) != 0) {
        perror("pthread_create");
        return 1;
    }
    for (;;) {
        spin_once(&rs->rseq_cs);
        aborts++;
    }
}
