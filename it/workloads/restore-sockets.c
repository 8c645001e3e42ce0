/*
 * restore-sockets: a small server with the sockets a test can check after dump and restore.
 * Ports from BASE: a TCP listener on ADDR:BASE (default 127.0.0.1; SO_REUSEADDR, TCP_NODELAY, SO_KEEPALIVE,
 * SO_RCVBUF 65536, backlog 7), a TCP listener on [::]:BASE+1 (IPV6_V6ONLY, SO_REUSEADDR,
 * SO_REUSEPORT, IPV6_TRANSPARENT: run as root), a UDP socket on 127.0.0.1:BASE+2 and one on [::1]:BASE+3, and one established
 * TCP connection of its own (a client connected to the first listener, and the accepted end).
 * Every INTERVAL ms it serves: a TCP client gets "hello PORT COUNTER\n" and is closed; a datagram
 * is answered "echo " + its bytes. And it prints
 *   pid P counter N sum 0 t MS conn STATE opts4 A opts6 B
 * where STATE is what a non-blocking read of its own connection says (open: nothing to read yet;
 * eof; or the errno name) and A, B are the listeners' options read back with getsockopt
 * (reuseaddr nodelay keepalive rcvbuf transparent / v6only reuseaddr reuseport transparent, as
 * digits and a number).
 *
 * usage: restore-sockets BASE INTERVAL_MS [ADDR]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int opt(int fd, int level, int name)
{
    int v = -1;
    socklen_t l = sizeof(v);
    if (getsockopt(fd, level, name, &v, &l) != 0)
        return -1;
    return v;
}

static void set(int fd, int level, int name, int v)
{
    if (setsockopt(fd, level, name, &v, sizeof(v)) != 0) {
        perror("setsockopt");
        exit(1);
    }
}

static int bound(int family, int type, const char *addr, int port)
{
    int fd = socket(family, type | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    set(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    int rc;
    if (family == AF_INET) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        inet_pton(AF_INET, addr, &a.sin_addr);
        rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
    } else {
        set(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
        set(fd, SOL_SOCKET, SO_REUSEPORT, 1);
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
        inet_pton(AF_INET6, addr, &a.sin6_addr);
        rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
    }
    if (rc != 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

static const char *conn_state(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    if (n > 0)
        return "data";
    if (n == 0)
        return "eof";
    if (errno == EAGAIN)
        return "open";
    const char *name = strerrorname_np(errno);
    return name != NULL ? name : "errno";
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: restore-sockets BASE INTERVAL_MS [ADDR]\n");
        return 2;
    }
    int base = atoi(argv[1]);
    long interval = strtol(argv[2], NULL, 10);
    setvbuf(stdout, NULL, _IOLBF, 0);

    const char *addr = argc == 4 ? argv[3] : "127.0.0.1";
    int l4 = bound(AF_INET, SOCK_STREAM, addr, base);
    set(l4, IPPROTO_TCP, TCP_NODELAY, 1);
    set(l4, SOL_SOCKET, SO_KEEPALIVE, 1);
    set(l4, SOL_SOCKET, SO_RCVBUF, 65536);
    int l6 = bound(AF_INET6, SOCK_STREAM, "::", base + 1);
    set(l6, IPPROTO_IPV6, IPV6_TRANSPARENT, 1);
    int u4 = bound(AF_INET, SOCK_DGRAM, "127.0.0.1", base + 2);
    int u6 = bound(AF_INET6, SOCK_DGRAM, "::1", base + 3);
    if (listen(l4, 7) != 0 || listen(l6, 9) != 0) {
        perror("listen");
        return 1;
    }
    int client = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(base) };
    inet_pton(AF_INET, addr, &to.sin_addr);
    if (client < 0 || connect(client, (struct sockaddr *)&to, sizeof(to)) != 0) {
        perror("connect");
        return 1;
    }
    struct pollfd one = { .fd = l4, .events = POLLIN };
    poll(&one, 1, 5000);
    int accepted = accept4(l4, NULL, NULL, SOCK_NONBLOCK);
    if (accepted < 0) {
        perror("accept");
        return 1;
    }

    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long counter = 0;; counter++) {
        struct pollfd p[4] = { { l4, POLLIN, 0 }, { l6, POLLIN, 0 }, { u4, POLLIN, 0 }, { u6, POLLIN, 0 } };
        struct timespec end;
        clock_gettime(CLOCK_MONOTONIC, &end);
        long deadline = end.tv_sec * 1000 + end.tv_nsec / 1000000 + interval;
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long left = deadline - (now.tv_sec * 1000 + now.tv_nsec / 1000000);
            if (left <= 0)
                break;
            if (poll(p, 4, (int)left) <= 0)
                continue;
            for (int i = 0; i < 2; i++) {
                if (p[i].revents & POLLIN) {
                    int c = accept4(p[i].fd, NULL, NULL, 0);
                    if (c >= 0) {
                        char msg[64];
                        int n = snprintf(msg, sizeof(msg), "hello %d %ld\n", base + i, counter);
                        if (write(c, msg, (size_t)n) < 0)
                            perror("write");
                        close(c);
                    }
                }
            }
            for (int i = 2; i < 4; i++) {
                if (p[i].revents & POLLIN) {
                    char buf[512] = "echo ";
                    struct sockaddr_storage from;
                    socklen_t fl = sizeof(from);
                    ssize_t n = recvfrom(p[i].fd, buf + 5, sizeof(buf) - 5, 0, (struct sockaddr *)&from, &fl);
                    if (n >= 0)
                        sendto(p[i].fd, buf, (size_t)n + 5, 0, (struct sockaddr *)&from, fl);
                }
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        printf("pid %d counter %ld sum 0 t %ld conn %s opts4 %d%d%d%d%d opts6 %d%d%d%d\n", getpid(), counter, ms,
               conn_state(client), opt(l4, SOL_SOCKET, SO_REUSEADDR), opt(l4, IPPROTO_TCP, TCP_NODELAY),
               opt(l4, SOL_SOCKET, SO_KEEPALIVE), opt(l4, SOL_SOCKET, SO_RCVBUF), opt(l4, IPPROTO_IP, IP_TRANSPARENT),
               opt(l6, IPPROTO_IPV6, IPV6_V6ONLY), opt(l6, SOL_SOCKET, SO_REUSEADDR), opt(l6, SOL_SOCKET, SO_REUSEPORT),
               opt(l6, IPPROTO_IPV6, IPV6_TRANSPARENT));
        (void)accepted;
    }
}
