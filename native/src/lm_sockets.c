/*
 * Sockets, paired with io.lazymig.jni.Sockets: the socket constants (families, types, options) that
 * dump and restore inject, and sock_diag netlink queries (as ss(8) and CRIU read sockets).
 * Each query dumps every socket of one family (and protocol) of the caller's network namespace
 * and writes one fixed record per socket into the caller's buffer: lazymig's own layout (below,
 * its sizes and offsets exported by name), not the kernel's, so Java never parses netlink.
 * Returns the number of records, -ENOSPC when the buffer is too small, or -errno.
 */
#define _GNU_SOURCE
#include "lm_util.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

/* One inet socket (TCP or UDP, v4 or v6): ports in host order, addresses as the kernel's 16 bytes. */
struct lm_inet_rec {
    uint32_t ino;
    uint8_t family;
    uint8_t state;
    uint16_t sport;
    uint16_t dport;
    uint16_t pad;
    uint32_t ifindex;
    uint32_t rqueue; /* listener: connections waiting in the accept queue; else bytes unread */
    uint32_t wqueue; /* listener: the backlog (max); else bytes unsent */
    uint8_t src[16];
    uint8_t dst[16];
};

/* One unix socket: its name (path or abstract, name_len bytes), peer, queue and the pending connections' count. */
#define LM_UNIX_MAX_ICONS 64
struct lm_unix_rec {
    uint32_t ino;
    uint8_t type;
    uint8_t state;
    uint8_t shutdown;
    uint8_t name_len;
    uint32_t peer;
    uint32_t rqueue; /* listener: connections waiting; else bytes (stream) or skbs queued */
    uint32_t wqueue; /* listener: backlog */
    uint32_t vfs_ino;
    uint32_t vfs_dev;
    uint32_t nicons;
    uint8_t name[108];
    uint32_t icons[LM_UNIX_MAX_ICONS];
};

/* One netlink socket: protocol, port ids, the first 64 multicast groups. */
struct lm_netlink_rec {
    uint32_t ino;
    uint8_t protocol;
    uint8_t state;
    uint16_t pad;
    uint32_t portid;
    uint32_t dst_portid;
    uint32_t dst_group;
    uint32_t pad2;
    uint64_t groups;
};

#define LM_REC_CONSTS(s) { "SIZE_" #s, (jlong)sizeof(struct s) }
#define LM_OFF(s, f) { #s "_" #f, (jlong)offsetof(struct s, f) }
static const struct lm_constant sockdiag_constants[] = {
    LM_REC_CONSTS(lm_inet_rec), LM_REC_CONSTS(lm_unix_rec), LM_REC_CONSTS(lm_netlink_rec),
    LM_OFF(lm_inet_rec, ino), LM_OFF(lm_inet_rec, family), LM_OFF(lm_inet_rec, state), LM_OFF(lm_inet_rec, sport),
    LM_OFF(lm_inet_rec, dport), LM_OFF(lm_inet_rec, ifindex), LM_OFF(lm_inet_rec, rqueue), LM_OFF(lm_inet_rec, wqueue),
    LM_OFF(lm_inet_rec, src), LM_OFF(lm_inet_rec, dst),
    LM_OFF(lm_unix_rec, ino), LM_OFF(lm_unix_rec, type), LM_OFF(lm_unix_rec, state), LM_OFF(lm_unix_rec, shutdown),
    LM_OFF(lm_unix_rec, name_len), LM_OFF(lm_unix_rec, peer), LM_OFF(lm_unix_rec, rqueue),
    LM_OFF(lm_unix_rec, wqueue), LM_OFF(lm_unix_rec, vfs_ino), LM_OFF(lm_unix_rec, vfs_dev),
    LM_OFF(lm_unix_rec, nicons), LM_OFF(lm_unix_rec, name), LM_OFF(lm_unix_rec, icons),
    { "UNIX_MAX_ICONS", LM_UNIX_MAX_ICONS },
    LM_OFF(lm_netlink_rec, ino), LM_OFF(lm_netlink_rec, protocol), LM_OFF(lm_netlink_rec, state),
    LM_OFF(lm_netlink_rec, portid), LM_OFF(lm_netlink_rec, dst_portid), LM_OFF(lm_netlink_rec, dst_group),
    LM_OFF(lm_netlink_rec, groups),
    LM_CONST(AF_INET), LM_CONST(AF_INET6), LM_CONST(AF_UNIX), LM_CONST(AF_NETLINK),
    LM_CONST(IPPROTO_TCP), LM_CONST(IPPROTO_UDP), LM_CONST(IPPROTO_IP), LM_CONST(IPPROTO_IPV6),
    LM_CONST(SOCK_STREAM), LM_CONST(SOCK_DGRAM), LM_CONST(SOCK_SEQPACKET), LM_CONST(SOCK_RAW),
    LM_CONST(SOCK_NONBLOCK), LM_CONST(SOCK_CLOEXEC),
    LM_CONST(SOL_SOCKET), LM_CONST(SO_TYPE), LM_CONST(SO_DOMAIN), LM_CONST(SO_PROTOCOL), LM_CONST(SO_ACCEPTCONN),
    LM_CONST(SO_REUSEADDR), LM_CONST(SO_REUSEPORT), LM_CONST(SO_KEEPALIVE), LM_CONST(SO_BROADCAST),
    LM_CONST(SO_RCVBUF), LM_CONST(SO_SNDBUF), LM_CONST(SO_RCVBUFFORCE), LM_CONST(SO_SNDBUFFORCE),
    LM_CONST(SO_PRIORITY), LM_CONST(SO_RCVLOWAT), LM_CONST(SO_MARK), LM_CONST(SO_PASSCRED),
    LM_CONST(SO_PEEK_OFF), LM_CONST(SO_RCVTIMEO), LM_CONST(SO_SNDTIMEO), LM_CONST(SO_ERROR),
    LM_CONST(TCP_NODELAY), LM_CONST(TCP_KEEPIDLE), LM_CONST(TCP_KEEPINTVL), LM_CONST(TCP_KEEPCNT),
    LM_CONST(IPV6_V6ONLY), LM_CONST(IP_FREEBIND),
    LM_CONST(MSG_PEEK), LM_CONST(MSG_DONTWAIT), LM_CONST(SHUT_RD), LM_CONST(SHUT_WR), LM_CONST(SHUT_RDWR),
    LM_CONST(TCP_ESTABLISHED), LM_CONST(TCP_SYN_SENT), LM_CONST(TCP_CLOSE), LM_CONST(TCP_LISTEN),
    LM_CONST(TCP_CLOSE_WAIT), LM_CONST(TCP_FIN_WAIT1), LM_CONST(TCP_FIN_WAIT2), LM_CONST(TCP_TIME_WAIT),
    LM_CONST(TCP_LAST_ACK), LM_CONST(TCP_CLOSING), LM_CONST(TCP_SYN_RECV),
    { "SIZEOF_SOCKADDR_IN", sizeof(struct sockaddr_in) }, { "SIZEOF_SOCKADDR_IN6", sizeof(struct sockaddr_in6) },
    { "SIZEOF_SOCKADDR_UN", sizeof(struct sockaddr_un) }, { "SIZEOF_SOCKADDR_NL", sizeof(struct sockaddr_nl) },
    { "SOCKADDR_UN_PATH_OFFSET", offsetof(struct sockaddr_un, sun_path) },
    { "SIZEOF_MSGHDR", sizeof(struct msghdr) }, { "SIZEOF_IOVEC", sizeof(struct iovec) },
    { "MSGHDR_IOV", offsetof(struct msghdr, msg_iov) }, { "MSGHDR_IOVLEN", offsetof(struct msghdr, msg_iovlen) },
    { "MSGHDR_FLAGS", offsetof(struct msghdr, msg_flags) },
    LM_CONST(MSG_TRUNC), LM_CONST(MSG_CTRUNC),
};

/* Sends one dump request and hands every reply message to `each`, until NLMSG_DONE. */
typedef int (*lm_each_fn)(const struct nlmsghdr *h, void *out, size_t cap, size_t *n);

static int lm_sockdiag_run(const void *req, size_t req_len, lm_each_fn each, void *out, size_t cap)
{
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -errno;
    struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
    long rc = LM_RETRY(sendto(fd, req, req_len, 0, (struct sockaddr *)&nl, sizeof(nl)));
    if (rc < 0) {
        close(fd);
        return (int)rc;
    }
    size_t bufsize = 65536;
    char *buf = malloc(bufsize);
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    size_t n = 0;
    int result = 0;
    for (int done = 0; !done && result == 0;) {
        long len = LM_RETRY(recv(fd, buf, bufsize, 0));
        if (len < 0) {
            result = (int)len;
            break;
        }
        if (len == 0) {
            result = -EPROTO;
            break;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                done = 1;
                break;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *err = NLMSG_DATA(h);
                result = err->error < 0 ? err->error : -EPROTO;
                break;
            }
            result = each(h, out, cap, &n);
            if (result != 0)
                break;
        }
    }
    free(buf);
    close(fd);
    return result != 0 ? result : (int)n;
}

static int lm_inet_each(const struct nlmsghdr *h, void *out, size_t cap, size_t *n)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
        return -EPROTO;
    if ((*n + 1) * sizeof(struct lm_inet_rec) > cap)
        return -ENOSPC;
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    struct lm_inet_rec *r = (struct lm_inet_rec *)out + *n;
    memset(r, 0, sizeof(*r));
    r->ino = m->idiag_inode;
    r->family = m->idiag_family;
    r->state = m->idiag_state;
    r->sport = ntohs(m->id.idiag_sport);
    r->dport = ntohs(m->id.idiag_dport);
    r->ifindex = m->id.idiag_if;
    r->rqueue = m->idiag_rqueue;
    r->wqueue = m->idiag_wqueue;
    memcpy(r->src, m->id.idiag_src, 16);
    memcpy(r->dst, m->id.idiag_dst, 16);
    (*n)++;
    return 0;
}

/* Every inet socket of `family` and `protocol` (IPPROTO_TCP or IPPROTO_UDP), in any state. */
static jint lm_sockdiag_inet(JNIEnv *env, jclass cls, jint family, jint protocol, jlong out, jlong cap)
{
    (void)env;
    (void)cls;
    struct {
        struct nlmsghdr h;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof(req));
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = (uint8_t)family;
    req.r.sdiag_protocol = (uint8_t)protocol;
    req.r.idiag_states = ~0U;
    return lm_sockdiag_run(&req, sizeof(req), lm_inet_each, LM_ADDR(out), (size_t)cap);
}

static int lm_unix_each(const struct nlmsghdr *h, void *out, size_t cap, size_t *n)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
        return -EPROTO;
    if ((*n + 1) * sizeof(struct lm_unix_rec) > cap)
        return -ENOSPC;
    const struct unix_diag_msg *m = NLMSG_DATA(h);
    struct lm_unix_rec *r = (struct lm_unix_rec *)out + *n;
    memset(r, 0, sizeof(*r));
    r->ino = m->udiag_ino;
    r->type = m->udiag_type;
    r->state = m->udiag_state;
    int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
    for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        size_t alen = RTA_PAYLOAD(a);
        switch (a->rta_type) {
        case UNIX_DIAG_NAME:
            if (alen > sizeof(r->name))
                return -EPROTO;
            memcpy(r->name, RTA_DATA(a), alen);
            r->name_len = (uint8_t)alen;
            break;
        case UNIX_DIAG_PEER:
            if (alen >= sizeof(uint32_t))
                memcpy(&r->peer, RTA_DATA(a), sizeof(uint32_t));
            break;
        case UNIX_DIAG_RQLEN:
            if (alen >= sizeof(struct unix_diag_rqlen)) {
                const struct unix_diag_rqlen *q = RTA_DATA(a);
                r->rqueue = q->udiag_rqueue;
                r->wqueue = q->udiag_wqueue;
            }
            break;
        case UNIX_DIAG_VFS:
            if (alen >= sizeof(struct unix_diag_vfs)) {
                const struct unix_diag_vfs *v = RTA_DATA(a);
                r->vfs_ino = v->udiag_vfs_ino;
                r->vfs_dev = v->udiag_vfs_dev;
            }
            break;
        case UNIX_DIAG_ICONS: {
            size_t k = alen / sizeof(uint32_t);
            r->nicons = (uint32_t)k;
            if (k > LM_UNIX_MAX_ICONS)
                k = LM_UNIX_MAX_ICONS;
            memcpy(r->icons, RTA_DATA(a), k * sizeof(uint32_t));
            break;
        }
        case UNIX_DIAG_SHUTDOWN:
            if (alen >= 1)
                r->shutdown = *(const uint8_t *)RTA_DATA(a);
            break;
        default:
            break;
        }
    }
    (*n)++;
    return 0;
}

/* Every unix socket, with its name, peer, queue lengths, vfs inode, pending connections and shutdown. */
static jint lm_sockdiag_unix(JNIEnv *env, jclass cls, jlong out, jlong cap)
{
    (void)env;
    (void)cls;
    struct {
        struct nlmsghdr h;
        struct unix_diag_req r;
    } req;
    memset(&req, 0, sizeof(req));
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = AF_UNIX;
    req.r.udiag_states = ~0U;
    req.r.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN;
    return lm_sockdiag_run(&req, sizeof(req), lm_unix_each, LM_ADDR(out), (size_t)cap);
}

static int lm_netlink_each(const struct nlmsghdr *h, void *out, size_t cap, size_t *n)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct netlink_diag_msg)))
        return -EPROTO;
    if ((*n + 1) * sizeof(struct lm_netlink_rec) > cap)
        return -ENOSPC;
    const struct netlink_diag_msg *m = NLMSG_DATA(h);
    struct lm_netlink_rec *r = (struct lm_netlink_rec *)out + *n;
    memset(r, 0, sizeof(*r));
    r->ino = m->ndiag_ino;
    r->protocol = m->ndiag_protocol;
    r->state = m->ndiag_state;
    r->portid = m->ndiag_portid;
    r->dst_portid = m->ndiag_dst_portid;
    r->dst_group = m->ndiag_dst_group;
    int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
    for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == NETLINK_DIAG_GROUPS) {
            size_t alen = RTA_PAYLOAD(a);
            memcpy(&r->groups, RTA_DATA(a), alen < sizeof(r->groups) ? alen : sizeof(r->groups));
        }
    }
    (*n)++;
    return 0;
}

/* Every netlink socket of any protocol, with its multicast groups. */
static jint lm_sockdiag_netlink(JNIEnv *env, jclass cls, jlong out, jlong cap)
{
    (void)env;
    (void)cls;
    struct {
        struct nlmsghdr h;
        struct netlink_diag_req r;
    } req;
    memset(&req, 0, sizeof(req));
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = AF_NETLINK;
    req.r.sdiag_protocol = NDIAG_PROTO_ALL;
    req.r.ndiag_show = NDIAG_SHOW_GROUPS;
    return lm_sockdiag_run(&req, sizeof(req), lm_netlink_each, LM_ADDR(out), (size_t)cap);
}

static jlong lm_sockdiag_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, sockdiag_constants, LM_ARRAY_SIZE(sockdiag_constants), name);
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_sockdiag_constant },
    { "nativeInet", "(IIJJ)I", (void *)lm_sockdiag_inet },
    { "nativeUnix", "(JJ)I", (void *)lm_sockdiag_unix },
    { "nativeNetlink", "(JJ)I", (void *)lm_sockdiag_netlink },
};

int lm_sockets_register(JNIEnv *env)
{
    return lm_register(env, "Sockets", methods, LM_ARRAY_SIZE(methods));
}
