/* AF_UNIX sockets and SCM_RIGHTS fd passing, paired with io.lazymig.jni.UnixSocket. */
#define _GNU_SOURCE
#include "lm_util.h"

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* The kernel's limit of fds in one SCM_RIGHTS message (include/net/scm.h; not in uapi headers). */
#ifndef SCM_MAX_FD
#define SCM_MAX_FD 253
#endif

#define LM_SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

/* Control buffer big enough for the largest SCM_RIGHTS message, aligned for struct cmsghdr. */
union lm_cmsg_buf {
    char bytes[CMSG_SPACE(sizeof(int) * SCM_MAX_FD)];
    struct cmsghdr align;
};

/* Layout of the int[] that nativeRecvmsg fills: flags, fd count, then the fds. */
#define LM_RECV_FLAGS 0
#define LM_RECV_NFDS 1
#define LM_RECV_FDS 2

static const struct lm_constant unixsocket_constants[] = {
    LM_CONST(AF_UNIX),       LM_CONST(SOCK_STREAM),   LM_CONST(SOCK_SEQPACKET), LM_CONST(SOCK_CLOEXEC),
    LM_CONST(SOCK_NONBLOCK), LM_CONST(MSG_NOSIGNAL),  LM_CONST(MSG_CMSG_CLOEXEC), LM_CONST(MSG_CTRUNC),
    LM_CONST(MSG_TRUNC),     LM_CONST(MSG_DONTWAIT),  LM_CONST(SHUT_RD),        LM_CONST(SHUT_WR),
    LM_CONST(SHUT_RDWR),     LM_CONST(SO_RCVTIMEO),   LM_CONST(SO_SNDTIMEO),    LM_CONST(SCM_MAX_FD),
    { "SUN_PATH_MAX", (jlong)LM_SUN_PATH_MAX },
    { "RECV_FLAGS", LM_RECV_FLAGS },
    { "RECV_NFDS", LM_RECV_NFDS },
    { "RECV_FDS", LM_RECV_FDS },
};

static jlong lm_unixsocket_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, unixsocket_constants, LM_ARRAY_SIZE(unixsocket_constants), name);
}

static jint lm_unixsocket_socket(JNIEnv *env, jclass cls, jint type)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(socket(AF_UNIX, type, 0));
}

/* socketpair(2); the two fds go to out[0] and out[1] (Java passes an int[2]). */
static jint lm_unixsocket_socketpair(JNIEnv *env, jclass cls, jint type, jintArray out)
{
    (void)cls;
    if (out == NULL)
        return -EINVAL;
    int sv[2];
    long rc = LM_RETRY(socketpair(AF_UNIX, type, 0, sv));
    if (rc < 0)
        return (jint)rc;
    jint fds[2] = { sv[0], sv[1] };
    (*env)->SetIntArrayRegion(env, out, 0, 2, fds);
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        close(sv[0]);
        close(sv[1]);
        return -EINVAL;
    }
    return 0;
}

/*
 * Fills `addr` from the path bytes (no NUL inside, checked by Java); returns the address length
 * or -errno. A path must leave room for the terminating NUL in sun_path.
 */
static long lm_unixsocket_address(JNIEnv *env, jbyteArray path, struct sockaddr_un *addr)
{
    if (path == NULL)
        return -EINVAL;
    jsize len = (*env)->GetArrayLength(env, path);
    if (len <= 0)
        return -EINVAL;
    if ((size_t)len >= LM_SUN_PATH_MAX)
        return -ENAMETOOLONG;
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    (*env)->GetByteArrayRegion(env, path, 0, len, (jbyte *)addr->sun_path);
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        return -EINVAL;
    }
    return (long)(offsetof(struct sockaddr_un, sun_path) + (size_t)len + 1);
}

static jint lm_unixsocket_bind(JNIEnv *env, jclass cls, jint fd, jbyteArray path)
{
    (void)cls;
    struct sockaddr_un addr;
    long len = lm_unixsocket_address(env, path, &addr);
    if (len < 0)
        return (jint)len;
    return (jint)LM_RETRY(bind(fd, (struct sockaddr *)&addr, (socklen_t)len));
}

/* EINTR retry is safe for AF_UNIX: an interrupted connect leaves the socket unconnected. */
static jint lm_unixsocket_connect(JNIEnv *env, jclass cls, jint fd, jbyteArray path)
{
    (void)cls;
    struct sockaddr_un addr;
    long len = lm_unixsocket_address(env, path, &addr);
    if (len < 0)
        return (jint)len;
    return (jint)LM_RETRY(connect(fd, (struct sockaddr *)&addr, (socklen_t)len));
}

/*
 * Removes a leftover socket file at `path`: returns 1 if one was unlinked, 0 if nothing is there,
 * -EEXIST if something that is not a socket is there (never removed), or another -errno.
 */
static jint lm_unixsocket_unlink_stale(JNIEnv *env, jclass cls, jbyteArray path)
{
    (void)cls;
    struct sockaddr_un addr; /* reuses the length checks and gives a NUL-terminated copy */
    long len = lm_unixsocket_address(env, path, &addr);
    if (len < 0)
        return (jint)len;
    struct stat st;
    if (lstat(addr.sun_path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    if (unlink(addr.sun_path) != 0)
        return errno == ENOENT ? 0 : -errno;
    return 1;
}

static jint lm_unixsocket_listen(JNIEnv *env, jclass cls, jint fd, jint backlog)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(listen(fd, backlog));
}

static jint lm_unixsocket_accept(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(accept4(fd, NULL, NULL, SOCK_CLOEXEC));
}

/*
 * One sendmsg(2) of `len` bytes at `address`, with fds[0..nfds) as one SCM_RIGHTS message when
 * nfds > 0. Returns the bytes sent or -errno.
 */
static jlong lm_unixsocket_sendmsg(JNIEnv *env, jclass cls, jint fd, jlong address, jlong len, jintArray fds,
                                   jint nfds, jint flags)
{
    (void)cls;
    if (nfds < 0 || nfds > SCM_MAX_FD || len < 0 || (nfds > 0 && fds == NULL))
        return -EINVAL;
    struct iovec iov = { .iov_base = LM_ADDR(address), .iov_len = (size_t)len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    union lm_cmsg_buf control;
    if (nfds > 0) {
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        jint values[SCM_MAX_FD];
        (*env)->GetIntArrayRegion(env, fds, 0, nfds, values);
        if ((*env)->ExceptionCheck(env)) {
            (*env)->ExceptionClear(env);
            return -EINVAL;
        }
        int *data = (int *)CMSG_DATA(cmsg);
        for (jint i = 0; i < nfds; i++)
            data[i] = values[i];
    }
    return LM_RETRY(sendmsg(fd, &msg, flags));
}

static void lm_unixsocket_close_all(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

/*
 * One recvmsg(2) into `len` bytes at `address`, accepting at most max_fds fds. Returns the bytes
 * read (0 = EOF) or -errno; fills out[RECV_FLAGS] = msg_flags, out[RECV_NFDS] = number of fds
 * kept, out[RECV_FDS..] = those fds (out has room for RECV_FDS + max_fds ints).
 *
 * msg_controllen is CMSG_LEN(max_fds ints), not CMSG_SPACE: the kernel installs as many fds as
 * fit in (controllen - header) / sizeof(int), so CMSG_SPACE's padding would admit one fd more than
 * asked for (measured: CMSG_SPACE(1 int) took 2 fds without MSG_CTRUNC). When the message was
 * truncated (MSG_CTRUNC, or MSG_TRUNC for a record), every fd that arrived is closed here and
 * out[RECV_NFDS] is 0, so Java reports the error with nothing to leak.
 */
static jlong lm_unixsocket_recvmsg(JNIEnv *env, jclass cls, jint fd, jlong address, jlong len, jint max_fds,
                                   jint flags, jintArray out)
{
    (void)cls;
    if (max_fds < 0 || max_fds > SCM_MAX_FD || len < 0 || out == NULL)
        return -EINVAL;
    struct iovec iov = { .iov_base = LM_ADDR(address), .iov_len = (size_t)len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    union lm_cmsg_buf control;
    if (max_fds > 0) {
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_LEN(sizeof(int) * (size_t)max_fds);
    }
    long n = LM_RETRY(recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC));
    if (n < 0)
        return n;

    /* Gather every SCM_RIGHTS fd; other control messages (none are asked for) are skipped. */
    int got[SCM_MAX_FD];
    size_t ngot = 0;
    for (struct cmsghdr *c = msg.msg_controllen > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const int *data = (const int *)CMSG_DATA(c);
        for (size_t i = 0; i < count; i++) {
            if (ngot < LM_ARRAY_SIZE(got))
                got[ngot++] = data[i];
            else
                close(data[i]);
        }
    }

    jint result[LM_RECV_FDS + SCM_MAX_FD];
    result[LM_RECV_FLAGS] = msg.msg_flags;
    if ((msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0 || ngot > (size_t)max_fds) {
        /* Truncated, or (defensively) more fds than asked for: keep none. */
        lm_unixsocket_close_all(got, ngot);
        if (ngot > (size_t)max_fds)
            result[LM_RECV_FLAGS] |= MSG_CTRUNC;
        ngot = 0;
    }
    result[LM_RECV_NFDS] = (jint)ngot;
    for (size_t i = 0; i < ngot; i++)
        result[LM_RECV_FDS + i] = got[i];
    (*env)->SetIntArrayRegion(env, out, 0, (jsize)(LM_RECV_FDS + ngot), result);
    if ((*env)->ExceptionCheck(env)) {
        /* Java sized `out` wrongly: do not hand out fds it cannot see. */
        (*env)->ExceptionClear(env);
        lm_unixsocket_close_all(got, ngot);
        return -EINVAL;
    }
    return n;
}

/* SO_PEERCRED: out[0] = pid, out[1] = uid, out[2] = gid of the peer at connect/socketpair time. */
static jint lm_unixsocket_peercred(JNIEnv *env, jclass cls, jint fd, jintArray out)
{
    (void)cls;
    if (out == NULL)
        return -EINVAL;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return -errno;
    jint values[3] = { (jint)cred.pid, (jint)cred.uid, (jint)cred.gid };
    (*env)->SetIntArrayRegion(env, out, 0, 3, values);
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        return -EINVAL;
    }
    return 0;
}

/* SO_RCVTIMEO or SO_SNDTIMEO (chosen by `option`); 0 s + 0 us means no timeout. */
static jint lm_unixsocket_set_timeout(JNIEnv *env, jclass cls, jint fd, jint option, jlong seconds, jlong micros)
{
    (void)env;
    (void)cls;
    if (option != SO_RCVTIMEO && option != SO_SNDTIMEO)
        return -EINVAL;
    struct timeval tv = { .tv_sec = (time_t)seconds, .tv_usec = (suseconds_t)micros };
    return setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv)) == 0 ? 0 : -errno;
}

static jint lm_unixsocket_shutdown(JNIEnv *env, jclass cls, jint fd, jint how)
{
    (void)env;
    (void)cls;
    return shutdown(fd, how) == 0 ? 0 : -errno;
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_unixsocket_constant },
    { "nativeSocket", "(I)I", (void *)lm_unixsocket_socket },
    { "nativeSocketPair", "(I[I)I", (void *)lm_unixsocket_socketpair },
    { "nativeBind", "(I[B)I", (void *)lm_unixsocket_bind },
    { "nativeConnect", "(I[B)I", (void *)lm_unixsocket_connect },
    { "nativeUnlinkStale", "([B)I", (void *)lm_unixsocket_unlink_stale },
    { "nativeListen", "(II)I", (void *)lm_unixsocket_listen },
    { "nativeAccept", "(I)I", (void *)lm_unixsocket_accept },
    { "nativeSendmsg", "(IJJ[III)J", (void *)lm_unixsocket_sendmsg },
    { "nativeRecvmsg", "(IJJII[I)J", (void *)lm_unixsocket_recvmsg },
    { "nativePeerCredentials", "(I[I)I", (void *)lm_unixsocket_peercred },
    { "nativeSetTimeout", "(IIJJ)I", (void *)lm_unixsocket_set_timeout },
    { "nativeShutdown", "(II)I", (void *)lm_unixsocket_shutdown },
};

int lm_unixsocket_register(JNIEnv *env)
{
    return lm_register(env, "UnixSocket", methods, LM_ARRAY_SIZE(methods));
}
