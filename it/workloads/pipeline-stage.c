/*
 * One stage of a three-stage shell pipeline for the tree-pipe tests:
 *   pipeline-stage produce | pipeline-stage filter | pipeline-stage consume LOG
 * The producer writes records "r SEQ H1\n" as fast as its pipe takes them; the filter checks each
 * one and appends H2; the consumer, paced (100 records every 5 ms) so that both pipes stay full,
 * checks that every record comes once and in order with both hashes right, and every 2000 records
 * appends "pid P counter K seq N sum S ok" to LOG (K = N / 2000 - 1, S: a running hash of every
 * record so far; LOG "-" is stdout, which the caller opens O_APPEND); on a
 * lost, doubled or damaged record it appends a line with BAD and exits 1. A stage that finds a
 * bad record exits 1 too.
 *
 *   pipeline-stage pair LOG
 * A parent and its child talking both ways over two pipes: the parent writes requests "q SEQ H1
"
 * whenever its (non-blocking) request pipe takes them, the child answers each with
 * "a SEQ H1 H2
", and the parent, paced as the consumer is, checks every answer once and in order
 * and logs "pid P counter K seq N sum S ok child C" (or BAD) to LOG: the child blocks on its full answer
 * pipe, so both pipes stay full, with bytes in flight each way.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t mix(uint64_t x, uint64_t salt) {
    x ^= salt;
    x *= 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 32);
}

static int produce(void) {
    for (uint64_t seq = 0;; seq++) {
        if (printf("r %" PRIu64 " %016" PRIx64 "\n", seq, mix(seq, 1)) < 0) {
            return 1;
        }
    }
}

static int filter(void) {
    char line[256];
    uint64_t expected = 0;
    while (fgets(line, sizeof line, stdin)) {
        uint64_t seq, h1;
        if (sscanf(line, "r %" SCNu64 " %" SCNx64, &seq, &h1) != 2 || seq != expected || h1 != mix(seq, 1)) {
            fprintf(stderr, "filter: BAD record %s (expected seq %" PRIu64 ")\n", line, expected);
            return 1;
        }
        if (printf("r %" PRIu64 " %016" PRIx64 " %016" PRIx64 "\n", seq, h1, mix(seq, 2)) < 0) {
            return 1;
        }
        expected++;
    }
    return 0;
}

static int consume(const char *log) {
    FILE *out = strcmp(log, "-") == 0 ? stdout : fopen(log, "a");
    if (!out) {
        perror(log);
        return 1;
    }
    char line[256];
    uint64_t expected = 0, sum = 0;
    struct timespec pause = {0, 5 * 1000 * 1000};
    while (fgets(line, sizeof line, stdin)) {
        uint64_t seq, h1, h2;
        if (sscanf(line, "r %" SCNu64 " %" SCNx64 " %" SCNx64, &seq, &h1, &h2) != 3 || seq != expected
                || h1 != mix(seq, 1) || h2 != mix(seq, 2)) {
            line[strcspn(line, "\n")] = 0;
            fprintf(out, "BAD consumer pid %d expected seq %" PRIu64 " got '%s'\n", getpid(), expected, line);
            fclose(out);
            return 1;
        }
        sum = mix(sum ^ h2, seq);
        expected++;
        if (expected % 2000 == 0) {
            fprintf(out, "pid %d counter %" PRIu64 " seq %" PRIu64 " sum %016" PRIx64 " ok\n", getpid(),
                    expected / 2000 - 1, expected, sum);
            fflush(out);
        }
        if (expected % 100 == 0) {
            nanosleep(&pause, NULL);
        }
    }
    fprintf(out, "BAD consumer pid %d end of input after seq %" PRIu64 "\n", getpid(), expected);
    fclose(out);
    return 1;
}

static int answer(void) {
    char line[256];
    uint64_t expected = 0;
    while (fgets(line, sizeof line, stdin)) {
        uint64_t seq, h1;
        if (sscanf(line, "q %" SCNu64 " %" SCNx64, &seq, &h1) != 2 || seq != expected || h1 != mix(seq, 1)) {
            fprintf(stderr, "child: BAD request %s (expected seq %" PRIu64 ")\n", line, expected);
            return 1;
        }
        if (printf("a %" PRIu64 " %016" PRIx64 " %016" PRIx64 "\n", seq, h1, mix(seq, 2)) < 0) {
            return 1;
        }
        expected++;
    }
    return 0;
}

static int pair(const char *log) {
    int req[2], ans[2];
    if (pipe(req) || pipe(ans)) {
        perror("pipe");
        return 1;
    }
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        dup2(req[0], 0);
        dup2(ans[1], 1);
        close(req[0]);
        close(req[1]);
        close(ans[0]);
        close(ans[1]);
        return answer();
    }
    close(req[0]);
    close(ans[1]);
    fcntl(req[1], F_SETFL, O_NONBLOCK);
    FILE *in = fdopen(ans[0], "r");
    FILE *out = fopen(log, "a");
    if (!in || !out) {
        perror(log);
        return 1;
    }
    char pending[64];
    size_t len = 0, off = 0;
    uint64_t next = 0, expected = 0, sum = 0;
    struct timespec pause = {0, 5 * 1000 * 1000};
    for (;;) {
        for (;;) { /* as many requests as the pipe takes now */
            if (off == len) {
                len = (size_t) snprintf(pending, sizeof pending, "q %" PRIu64 " %016" PRIx64 "\n", next, mix(next, 1));
                off = 0;
                next++;
            }
            ssize_t n = write(req[1], pending + off, len - off);
            if (n <= 0) {
                break;
            }
            off += (size_t) n;
        }
        for (int i = 0; i < 100; i++) {
            char line[256];
            uint64_t seq, h1, h2;
            if (!fgets(line, sizeof line, in)) {
                fprintf(out, "BAD pair pid %d child %d end of answers after seq %" PRIu64 "\n", getpid(), child, expected);
                return 1;
            }
            if (sscanf(line, "a %" SCNu64 " %" SCNx64 " %" SCNx64, &seq, &h1, &h2) != 3 || seq != expected
                    || h1 != mix(seq, 1) || h2 != mix(seq, 2)) {
                line[strcspn(line, "\n")] = 0;
                fprintf(out, "BAD pair pid %d child %d expected seq %" PRIu64 " got '%s'\n", getpid(), child, expected, line);
                fclose(out);
                return 1;
            }
            sum = mix(sum ^ h2, seq);
            expected++;
            if (expected % 2000 == 0) {
                fprintf(out, "pid %d counter %" PRIu64 " seq %" PRIu64 " sum %016" PRIx64 " ok child %d\n", getpid(),
                        expected / 2000 - 1, expected, sum, child);
                fflush(out);
            }
        }
        nanosleep(&pause, NULL);
    }
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "pair") == 0) {
        return pair(argv[2]);
    }
    if (argc >= 2 && strcmp(argv[1], "produce") == 0) {
        return produce();
    }
    if (argc >= 2 && strcmp(argv[1], "filter") == 0) {
        return filter();
    }
    if (argc >= 3 && strcmp(argv[1], "consume") == 0) {
        return consume(argv[2]);
    }
    fprintf(stderr, "usage: %s produce | filter | consume LOG | pair LOG\n", argv[0]);
    return 2;
}
