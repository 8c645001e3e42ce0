/*
 * restore-unix: unix sockets with data in flight, for dump and restore. It makes a stream
 * socketpair with bytes queued both ways, a datagram socketpair with three datagrams queued on one
 * end, a seqpacket socketpair with two packets, a stream listener bound to PATH (mode 0660,
 * backlog 5) and one bound to the abstract name ABSTRACT (backlog 3), and a datagram socket bound
 * to the abstract name ABSTRACT-dg with two datagrams from a sender that is gone. Every INTERVAL ms it
 * answers clients of both listeners "unix hello NAME\n" and prints
 *   pid P counter N sum 0 t MS
 * Once the file "drain" exists in its directory it reads every queue once, without blocking, and
 * prints
 *   drained a=pong-from-b b=ping-from-a y=d1,d2,d3 q=s1,s2 z=u1,u2
 * with what it read (what it had queued before the dump, if nothing was lost or doubled).
 *
 * usage: restore-unix PATH ABSTRACT INTERVAL_MS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int listener(const char *name, int abstract, int backlog)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    size_t n = strlen(name);
    socklen_t len;
    if (abstract) {
        memcpy(a.sun_path + 1, name, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    } else {
        unlink(name);
        memcpy(a.sun_path, name, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) != 0 || listen(fd, backlog) != 0)
        die("listener");
    if (!abstract && chmod(name, 0660) != 0)
        die("chmod");
    return fd;
}

/* Everything fd has, without blocking: packets joined with ',' (a stream's bytes as they come). */
static void drain(int fd, char *out, size_t cap)
{
    out[0] = 0;
    char buf[256];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n <= 0)
            break;
        buf[n] = 0;
        if (out[0] != 0)
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, buf, cap - strlen(out) - 1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: restore-unix PATH ABSTRACT INTERVAL_MS\n");
        return 2;
    }
    long interval = strtol(argv[3], NULL, 10);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int st[2], dg[2], sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg)
        || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp))
        die("socketpair");
    if (write(st[0], "ping-from-a", 11) != 11 || write(st[1], "pong-from-b", 11) != 11)
        die("write stream");
    const char *d[] = { "d1", "d2", "d3" };
    for (int i = 0; i < 3; i++)
        if (send(dg[0], d[i], 2, 0) != 2)
            die("send dgram");
    if (send(sp[0], "s1", 2, 0) != 2 || send(sp[0], "s2", 2, 0) != 2)
        die("send seqpacket");
    int bd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un ba = { .sun_family = AF_UNIX };
    int bn = snprintf(ba.sun_path + 1, sizeof(ba.sun_path) - 1, "%s-dg", argv[2]);
    socklen_t blen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + bn);
    if (bd < 0 || bind(bd, (struct sockaddr *)&ba, blen) != 0)
        die("bind dgram");
    int sender = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (sendto(sender, "u1", 2, 0, (struct sockaddr *)&ba, blen) != 2
        || sendto(sender, "u2", 2, 0, (struct sockaddr *)&ba, blen) != 2)
        die("sendto dgram");
    close(sender);
    int lp = listener(argv[1], 0, 5);
    int la = listener(argv[2], 1, 3);

    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int drained = 0;
    for (long counter = 0;; counter++) {
        struct pollfd p[2] = { { lp, POLLIN, 0 }, { la, POLLIN, 0 } };
        if (poll(p, 2, (int)interval) > 0) {
            for (int i = 0; i < 2; i++) {
                if (p[i].revents & POLLIN) {
                    int c = accept(p[i].fd, NULL, NULL);
                    if (c >= 0) {
                        char msg[160];
                        int n = snprintf(msg, sizeof(msg), "unix hello %s\n", i == 0 ? argv[1] : argv[2]);
                        if (write(c, msg, (size_t)n) < 0)
                            perror("write");
                        close(c);
                    }
                }
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        printf("pid %d counter %ld sum 0 t %ld\n", getpid(), counter, ms);
        if (!drained && access("drain", F_OK) == 0) {
            char a[128], b[128], y[128], q[128], z[128];
            drain(st[0], a, sizeof(a));
            drain(st[1], b, sizeof(b));
            drain(dg[1], y, sizeof(y));
            drain(sp[1], q, sizeof(q));
            drain(bd, z, sizeof(z));
            printf("drained a=%s b=%s y=%s q=%s z=%s\n", a, b, y, q, z);
            drained = 1;
        }
    }
}
