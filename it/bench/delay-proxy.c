/*
 * delay-proxy: a TCP proxy that adds latency, for benchmarking on a kernel without netem.
 *   delay-proxy LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT RTT_US [MAX_BUFFER_MIB]
 *
 * Every connection accepted on LISTEN is joined to a new connection to TARGET. Each direction is
 * delayed by RTT_US/2: a chunk read at time t is written no earlier than t + RTT_US/2, so a round
 * trip through the proxy costs RTT_US more. RTT_US 0 forwards without any queue.
 *
 * Each direction buffers at most MAX_BUFFER_MIB (default 64) MiB. When that buffer is full the
 * proxy stops reading from the sending side, so TCP's own flow control pushes back on the sender:
 * the path behaves like a link whose bandwidth-delay product is capped by the buffer (plus the
 * kernel's socket buffers on either side), not like an infinite pipe. The throughput a direction
 * can carry through the delay is therefore at most MAX_BUFFER_MIB / (RTT_US/2).
 *
 * Design: per connection direction a reader thread and a writer thread share a ring buffer of
 * MAX_BUFFER_MIB bytes and a FIFO of (length, deadline) records, one per read. The reader reads
 * straight into the ring's free space; the writer sleeps until the oldest record is due and then
 * writes every due byte at once. Threads rather than an event loop: the sleeps and blocking
 * syscalls stay simple, and the connections here are few.
 *
 * Half-close propagates: EOF from one side becomes shutdown(SHUT_WR) on the other once the queued
 * bytes are delivered. A read or write error closes both sides.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_READ (1 << 20) /* one read's share of the ring: bounds a record's granularity */

static uint64_t g_delay_ns; /* one-way: RTT_US / 2 */
static size_t g_cap;        /* ring bytes per direction */
static const char *g_target_host, *g_target_port;

struct record {
    size_t len;
    uint64_t due_ns;
};

struct conn;

/* One direction: bytes read from `from`, written to `to`. */
struct dir {
    struct conn *c;
    int from, to;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on data, space, EOF and failure */
    char *ring;
    size_t head, used;     /* ring[head .. head+used) is queued (mod g_cap) */
    struct record *recs;   /* circular FIFO of records */
    size_t rhead, rcount, rcap;
    int eof;
};

struct conn {
    int a, b; /* accepted client, target */
    struct dir d[2];
    pthread_mutex_t mu;
    int threads; /* the last one to leave closes the sockets */
    atomic_int dead; /* an error: both sides are being torn down */
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
    struct timespec t = { .tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
        ;
}

static void conn_release(struct conn *c)
{
    pthread_mutex_lock(&c->mu);
    int last = --c->threads == 0;
    pthread_mutex_unlock(&c->mu);
    if (!last)
        return;
    close(c->a);
    close(c->b);
    for (int i = 0; i < 2; i++) {
        free(c->d[i].ring);
        free(c->d[i].recs);
        pthread_mutex_destroy(&c->d[i].mu);
        pthread_cond_destroy(&c->d[i].cv);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* An error on either side: shut both sockets (blocked reads and writes return) and wake every
 * thread waiting on a queue. */
static void conn_fail(struct conn *c)
{
    if (atomic_exchange(&c->dead, 1))
        return;
    shutdown(c->a, SHUT_RDWR);
    shutdown(c->b, SHUT_RDWR);
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&c->d[i].mu);
        pthread_cond_broadcast(&c->d[i].cv);
        pthread_mutex_unlock(&c->d[i].mu);
    }
}

static ssize_t read_retry(int fd, void *buf, size_t n)
{
    ssize_t r;
    while ((r = read(fd, buf, n)) < 0 && errno == EINTR)
        ;
    return r;
}

/* send, not write: MSG_NOSIGNAL keeps a peer's reset from raising SIGPIPE. */
static ssize_t send_retry(int fd, const void *buf, size_t n)
{
    ssize_t r;
    while ((r = send(fd, buf, n, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return r;
}

/* RTT 0: a plain copy loop, no queue and no second thread in the path. */
static void *pump(void *arg)
{
    struct dir *d = arg;
    char *buf = malloc(256 << 10);
    for (;;) {
        ssize_t r = buf ? read_retry(d->from, buf, 256 << 10) : -1;
        if (r == 0) {
            shutdown(d->to, SHUT_WR);
            break;
        }
        ssize_t w = 0;
        while (r > 0 && w < r) {
            ssize_t n = send_retry(d->to, buf + w, (size_t)(r - w));
            if (n < 0)
                break;
            w += n;
        }
        if (r < 0 || w < r) {
            conn_fail(d->c);
            break;
        }
    }
    free(buf);
    conn_release(d->c);
    return NULL;
}

static int push_record(struct dir *d, size_t len, uint64_t due)
{
    if (d->rcount == d->rcap) {
        size_t ncap = d->rcap ? d->rcap * 2 : 1024;
        struct record *n = malloc(ncap * sizeof(*n));
        if (!n)
            return -1;
        for (size_t i = 0; i < d->rcount; i++)
            n[i] = d->recs[(d->rhead + i) % d->rcap];
        free(d->recs);
        d->recs = n;
        d->rhead = 0;
        d->rcap = ncap;
    }
    d->recs[(d->rhead + d->rcount) % d->rcap] = (struct record){ len, due };
    d->rcount++;
    return 0;
}

static void *reader(void *arg)
{
    struct dir *d = arg;
    struct conn *c = d->c;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        while (d->used == g_cap && !c->dead)
            pthread_cond_wait(&d->cv, &d->mu); /* full: stop reading, TCP pushes back */
        size_t tail = (d->head + d->used) % g_cap;
        size_t room = g_cap - d->used < g_cap - tail ? g_cap - d->used : g_cap - tail;
        pthread_mutex_unlock(&d->mu);
        if (c->dead)
            break;
        /* ring[tail .. tail+room) is free: the writer never touches it */
        ssize_t r = read_retry(d->from, d->ring + tail, room < MAX_READ ? room : MAX_READ);
        uint64_t due = now_ns() + g_delay_ns;
        if (r < 0) {
            conn_fail(c);
            break;
        }
        pthread_mutex_lock(&d->mu);
        int err = 0;
        if (r == 0)
            d->eof = 1;
        else if ((err = push_record(d, (size_t)r, due)) == 0)
            d->used += (size_t)r;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        if (err) {
            fprintf(stderr, "delay-proxy: out of memory for the record queue\n");
            conn_fail(c);
            break;
        }
        if (r == 0)
            break;
    }
    conn_release(c);
    return NULL;
}

static void *writer(void *arg)
{
    struct dir *d = arg;
    struct conn *c = d->c;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (d->rcount == 0 && !d->eof && !c->dead)
            pthread_cond_wait(&d->cv, &d->mu);
        if (c->dead)
            break;
        if (d->rcount == 0) { /* EOF and everything delivered: pass the half-close on */
            shutdown(d->to, SHUT_WR);
            break;
        }
        uint64_t due = d->recs[d->rhead].due_ns;
        if (now_ns() < due) {
            /* records only ever join behind this one, with later deadlines: no need to wake early */
            pthread_mutex_unlock(&d->mu);
            sleep_until(due);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        /* take every record that is due, and write their bytes in one go */
        uint64_t now = now_ns();
        size_t n = 0;
        while (d->rcount > 0 && d->recs[d->rhead].due_ns <= now) {
            n += d->recs[d->rhead].len;
            d->rhead = (d->rhead + 1) % d->rcap;
            d->rcount--;
        }
        size_t head = d->head;
        pthread_mutex_unlock(&d->mu);
        int failed = 0;
        while (n > 0) {
            /* a blocking send returns only when all of it is out: keep each one short */
            size_t chunk = n < g_cap - head ? n : g_cap - head;
            chunk = chunk < MAX_READ ? chunk : MAX_READ;
            ssize_t w = send_retry(d->to, d->ring + head, chunk);
            if (w < 0) {
                failed = 1;
                break;
            }
            head = (head + (size_t)w) % g_cap;
            n -= (size_t)w;
            pthread_mutex_lock(&d->mu); /* hand the space back as it goes, not all at the end */
            d->head = head;
            d->used -= (size_t)w;
            pthread_cond_broadcast(&d->cv);
            pthread_mutex_unlock(&d->mu);
        }
        if (failed) {
            conn_fail(c);
            pthread_mutex_lock(&d->mu);
            break;
        }
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    conn_release(c);
    return NULL;
}

static int spawn_detached(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 256 << 10);
    int rc = pthread_create(&t, &at, fn, arg);
    pthread_attr_destroy(&at);
    return rc;
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *p;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "delay-proxy: %s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0;
    for (p = ai; p; p = p->ai_next) {
        fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int r;
        while ((r = connect(fd, p->ai_addr, p->ai_addrlen)) != 0 && errno == EINTR)
            ;
        if (r == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        fprintf(stderr, "delay-proxy: connect %s:%s: %s\n", host, port, strerror(err));
    return fd;
}

static void nodelay(int fd)
{
    int one = 1; /* request/response payloads: the delay is ours, not Nagle's */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A new client: connect to the target, then start the direction threads. */
static void *conn_main(void *arg)
{
    int a = (int)(intptr_t)arg;
    int b = dial(g_target_host, g_target_port);
    if (b < 0) {
        close(a);
        return NULL;
    }
    nodelay(a);
    nodelay(b);
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        goto oom;
    c->a = a;
    c->b = b;
    pthread_mutex_init(&c->mu, NULL);
    for (int i = 0; i < 2; i++) {
        struct dir *d = &c->d[i];
        d->c = c;
        d->from = i == 0 ? a : b;
        d->to = i == 0 ? b : a;
        pthread_mutex_init(&d->mu, NULL);
        pthread_cond_init(&d->cv, NULL);
        /* untouched pages cost nothing: the ring only becomes resident as far as it fills */
        if (g_delay_ns && !(d->ring = malloc(g_cap)))
            goto oom_conn;
    }
    void *(*fns[2])(void *) = { g_delay_ns ? reader : pump, writer };
    int per_dir = g_delay_ns ? 2 : 1, started = 0;
    c->threads = 2 * per_dir;
    for (int i = 0; i < 2 * per_dir; i++) {
        int rc = spawn_detached(fns[i % per_dir], &c->d[i / per_dir]);
        if (rc != 0) {
            /* the threads that did start see a dead connection; we release for the others */
            fprintf(stderr, "delay-proxy: pthread_create: %s\n", strerror(rc));
            conn_fail(c);
            for (int k = started; k < 2 * per_dir; k++)
                conn_release(c);
            return NULL;
        }
        started++;
    }
    return NULL;
oom_conn:
    for (int i = 0; i < 2; i++)
        free(c->d[i].ring);
    free(c);
oom:
    fprintf(stderr, "delay-proxy: out of memory for a connection\n");
    close(a);
    close(b);
    return NULL;
}

static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long rtt, mib = 64;
    if (argc < 6 || argc > 7 || parse_num(argv[5], 60000000, &rtt) != 0
        || (argc == 7 && (parse_num(argv[6], 1 << 20, &mib) != 0 || mib == 0))) {
        fprintf(stderr, "usage: delay-proxy LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT RTT_US [MAX_BUFFER_MIB]\n");
        return 1;
    }
    g_delay_ns = (uint64_t)rtt * 1000 / 2;
    g_cap = (size_t)mib << 20;
    g_target_host = argv[3];
    g_target_port = argv[4];
    signal(SIGPIPE, SIG_IGN);
    /* the default 50 us timer slack would blur the delay; threads inherit this */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    /*
     * The proxy stands for the network, and a NIC or a wire never waits for a CPU behind the
     * hosts' processes. On two vCPUs shared by both "hosts", the workload and the transfer, its
     * threads would (a due fault reply waited for the next tick behind the background's relay and
     * the workload). Real-time priority 2, above lazymig's fault path (1), when allowed (root);
     * threads inherit it. The floor's round trip goes through the same proxy.
     */
    struct sched_param rt = { .sched_priority = 2 };
    if (sched_setscheduler(0, SCHED_FIFO, &rt) != 0)
        fprintf(stderr, "delay-proxy: not real-time (%s): its delays wait for a CPU like any process\n", strerror(errno));

    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
    int rc = getaddrinfo(argv[1], argv[2], &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "delay-proxy: %s:%s: %s\n", argv[1], argv[2], gai_strerror(rc));
        return 1;
    }
    int s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
        || bind(s, ai->ai_addr, ai->ai_addrlen) != 0 || listen(s, 64) != 0) {
        fprintf(stderr, "delay-proxy: listen %s:%s: %s\n", argv[1], argv[2], strerror(errno));
        return 1;
    }
    freeaddrinfo(ai);
    fprintf(stderr, "delay-proxy: listening on %s:%s -> %s:%s, rtt %lu us\n", argv[1], argv[2], argv[3], argv[4],
            rtt);
    for (;;) {
        int a = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (a < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            /* EMFILE and the like: say so, back off, keep serving the connections we have */
            fprintf(stderr, "delay-proxy: accept: %s\n", strerror(errno));
            usleep(100000);
            continue;
        }
        /* connecting to the target may take a while: not in the accept loop */
        rc = spawn_detached(conn_main, (void *)(intptr_t)a);
        if (rc != 0) {
            fprintf(stderr, "delay-proxy: pthread_create: %s\n", strerror(rc));
            close(a);
        }
    }
}
