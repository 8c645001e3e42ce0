/*
 * tcp-probe: raw TCP baselines between two hosts, for lazymig's benchmark ratios.
 *   tcp-probe serve PORT                 answer pings (4 KiB back per 16-byte request) and swallow streams
 *   tcp-probe rtt HOST PORT [N]          N round trips of 16 bytes out, 4 KiB back (a fault's request
 *                                        and its page); prints p50/p90/p99 in microseconds as JSON
 *   tcp-probe stream HOST PORT MIB       sends MIB MiB and prints MB/s (the receiver acks at the end)
 *   tcp-probe recv PORT                  accepts one connection and copies it to stdout until EOF
 *   tcp-probe send HOST PORT             copies stdin to HOST:PORT (with recv: eager migration's
 *                                        image copy between the hosts, over their own link)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int full(int fd, void *buf, size_t n, int rd)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = rd ? read(fd, p, n) : write(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        perror("connect");
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Requests: 16 bytes {u64 kind (1 ping, 2 stream), u64 bytes}. */
static void serve_one(int c)
{
    static char buf[1 << 20];
    uint64_t req[2];
    while (full(c, req, sizeof(req), 1) == 0) {
        if (req[0] == 1) {
            if (full(c, buf, 4096, 0) != 0)
                break;
        } else {
            uint64_t left = req[1];
            while (left > 0) {
                ssize_t r = read(c, buf, left < sizeof(buf) ? left : sizeof(buf));
                if (r <= 0)
                    return;
                left -= (uint64_t)r;
            }
            if (full(c, buf, 1, 0) != 0)
                break;
        }
    }
}

/* Copies in to out until EOF; 0, or -1 on an error. */
static int copy(int in, int out)
{
    static char buf[1 << 20];
    for (;;) {
        ssize_t r = read(in, buf, sizeof(buf));
        if (r == 0)
            return 0;
        if (r < 0 || full(out, buf, (size_t)r, 0) != 0)
            return -1;
    }
}

static int listen_on(const char *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 4) != 0) {
        perror("listen");
        return -1;
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "recv") == 0) {
        int s = listen_on(argv[2]);
        int c = s < 0 ? -1 : accept(s, NULL, NULL);
        if (c < 0 || copy(c, 1) != 0) {
            perror("tcp-probe recv");
            return 1;
        }
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "send") == 0) {
        int fd = dial(argv[2], argv[3]);
        if (fd < 0 || copy(0, fd) != 0 || shutdown(fd, SHUT_WR) != 0) {
            perror("tcp-probe send");
            return 1;
        }
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "serve") == 0) {
        int s = listen_on(argv[2]), one = 1;
        if (s < 0)
            return 1;
        for (;;) {
            int c = accept(s, NULL, NULL);
            if (c < 0)
                continue;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            serve_one(c);
            close(c);
        }
    }
    if (argc >= 4 && strcmp(argv[1], "rtt") == 0) {
        int n = argc > 4 ? atoi(argv[4]) : 2000, fd = dial(argv[2], argv[3]);
        if (fd < 0)
            return 1;
        double *lat = malloc(sizeof(double) * (size_t)n);
        char page[4096];
        uint64_t req[2] = { 1, 4096 };
        for (int i = 0; i < n; i++) {
            double t0 = now_us();
            if (full(fd, req, sizeof(req), 0) != 0 || full(fd, page, sizeof(page), 1) != 0)
                return 1;
            lat[i] = now_us() - t0;
        }
        qsort(lat, (size_t)n, sizeof(double), cmp);
        printf("{\"round_trips\": %d, \"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f}\n", n, lat[n / 2],
               lat[n * 9 / 10], lat[n * 99 / 100]);
        return 0;
    }
    if (argc >= 5 && strcmp(argv[1], "stream") == 0) {
        int fd = dial(argv[2], argv[3]);
        if (fd < 0)
            return 1;
        uint64_t bytes = (uint64_t)atol(argv[4]) << 20;
        static char buf[1 << 20];
        memset(buf, 0x5a, sizeof(buf));
        uint64_t req[2] = { 2, bytes };
        double t0 = now_us();
        if (full(fd, req, sizeof(req), 0) != 0)
            return 1;
        for (uint64_t left = bytes; left > 0;) {
            size_t n = left < sizeof(buf) ? left : sizeof(buf);
            if (full(fd, buf, n, 0) != 0)
                return 1;
            left -= n;
        }
        char ack;
        if (full(fd, &ack, 1, 1) != 0)
            return 1;
        double secs = (now_us() - t0) / 1e6;
        printf("{\"bytes\": %llu, \"seconds\": %.4f, \"mb_per_s\": %.1f}\n", (unsigned long long)bytes, secs,
               (double)bytes / 1e6 / secs);
        return 0;
    }
    fprintf(stderr, "usage: tcp-probe serve PORT | rtt HOST PORT [N] | stream HOST PORT MIB | recv PORT | send HOST PORT\n");
    return 1;
}
