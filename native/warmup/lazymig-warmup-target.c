/*
 * lazymig-warmup-target: a throw-away process for the dump side to rehearse on before a real freeze
 * (dist's DumpWarmup), so that the code of a dump — per process and per thread — has run in the JVM
 * before the process that matters stands still. THREADS threads (default 4, the main one included)
 * sleep in pause(); 1 MiB of memory is touched so the page walk has something to find. It prints
 * "ready" once every thread runs its own code. It is started by a shell that exits at once (its
 * tracer must not be its parent), so it ends by itself: SIGALRM after 30 s, if no SIGKILL came first.
 *
 * usage: lazymig-warmup-target [THREADS]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_barrier_t started;

static void *sleeper(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&started);
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "usage: lazymig-warmup-target [THREADS 1..64]\n");
        return 1;
    }
    alarm(30);
    static char memory[1 << 20];
    memset(memory, 0x5a, sizeof memory);
    pthread_barrier_init(&started, NULL, (unsigned)threads);
    for (int i = 1; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, sleeper, NULL) != 0)
            return 1;
    }
    if (threads > 1)
        pthread_barrier_wait(&started);
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}
