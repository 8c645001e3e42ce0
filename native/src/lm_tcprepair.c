/*
 * TCP repair, paired with io.lazymig.jni.TcpRepair: the socket calls that dump and restore make on
 * their own copy of an established TCP socket (pidfd_getfd at dump; made here at restore, then
 * taken into the restored process) to carry the connection alive, as CRIU's sk-tcp.c does:
 * TCP_REPAIR on and off, the queues' sequence numbers, their bytes (peeked at dump, written back
 * in repair mode at restore), window, options, timestamp; a drop-everything socket filter that
 * stops incoming segments while the process is frozen (a socket in repair mode still receives and
 * acknowledges data). Every call returns >= 0 or -errno; no policy here.
 */
#define _GNU_SOURCE
#include "lm_util.h"

#include <linux/filter.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TCP_REPAIR_OFF_NO_WP
#define TCP_REPAIR_OFF_NO_WP -1
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif

static const struct lm_constant tcprepair_constants[] = {
    LM_CONST(TCP_REPAIR), LM_CONST(TCP_REPAIR_QUEUE), LM_CONST(TCP_QUEUE_SEQ), LM_CONST(TCP_REPAIR_OPTIONS),
    LM_CONST(TCP_REPAIR_WINDOW), LM_CONST(TCP_TIMESTAMP), LM_CONST(TCP_MAXSEG), LM_CONST(TCP_CORK),
    LM_CONST(TCP_NO_QUEUE), LM_CONST(TCP_RECV_QUEUE), LM_CONST(TCP_SEND_QUEUE), LM_CONST(TCP_REPAIR_OFF_NO_WP),
    LM_CONST(TCPOPT_MAXSEG), LM_CONST(TCPOPT_WINDOW), LM_CONST(TCPOPT_SACK_PERMITTED), LM_CONST(TCPOPT_TIMESTAMP),
    LM_CONST(TCPI_OPT_TIMESTAMPS), LM_CONST(TCPI_OPT_SACK), LM_CONST(TCPI_OPT_WSCALE),
    LM_CONST(IP_TRANSPARENT), LM_CONST(IPV6_TRANSPARENT), LM_CONST(SIOCINQ), LM_CONST(SIOCOUTQ),
    LM_CONST(SIOCOUTQNSD),
};

/* socket(family, type | SOCK_CLOEXEC, protocol): restore's own copy, close-on-exec. */
static jint lm_tcp_socket(JNIEnv *env, jclass cls, jint family, jint type, jint protocol)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(socket(family, type | SOCK_CLOEXEC, protocol));
}

static jint lm_tcp_set_int(JNIEnv *env, jclass cls, jint fd, jint level, jint name, jint value)
{
    (void)env;
    (void)cls;
    int v = value;
    return (jint)LM_RETRY(setsockopt(fd, level, name, &v, sizeof(v)));
}

/* An int option as an unsigned 32-bit value (a sequence number may use the top bit), or -errno. */
static jlong lm_tcp_get_int(JNIEnv *env, jclass cls, jint fd, jint level, jint name)
{
    (void)env;
    (void)cls;
    uint32_t v = 0;
    socklen_t len = sizeof(v);
    long rc = LM_RETRY(getsockopt(fd, level, name, &v, &len));
    return rc < 0 ? (jlong)rc : (jlong)v;
}

/* ioctl SIOCINQ / SIOCOUTQ / SIOCOUTQNSD: bytes in a queue, or -errno. */
static jlong lm_tcp_queue_len(JNIEnv *env, jclass cls, jint fd, jint request)
{
    (void)env;
    (void)cls;
    int n = 0;
    long rc = LM_RETRY(ioctl(fd, (unsigned long)request, &n));
    return rc < 0 ? (jlong)rc : (jlong)n;
}

/* TCP_INFO's options, send and receive window scales, state: out[0..3]. */
static jint lm_tcp_info(JNIEnv *env, jclass cls, jint fd, jintArray out)
{
    (void)cls;
    struct tcp_info ti;
    memset(&ti, 0, sizeof(ti));
    socklen_t len = sizeof(ti);
    long rc = LM_RETRY(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
    if (rc < 0)
        return (jint)rc;
    jint v[4] = { ti.tcpi_options, ti.tcpi_snd_wscale, ti.tcpi_rcv_wscale, ti.tcpi_state };
    (*env)->SetIntArrayRegion(env, out, 0, 4, v);
    return 0;
}

/* TCP_REPAIR_WINDOW read into w[0..4]: snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup. */
static jint lm_tcp_get_window(JNIEnv *env, jclass cls, jint fd, jintArray w)
{
    (void)cls;
    struct tcp_repair_window rw;
    memset(&rw, 0, sizeof(rw));
    socklen_t len = sizeof(rw);
    long rc = LM_RETRY(getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &rw, &len));
    if (rc < 0)
        return (jint)rc;
    jint v[5] = { (jint)rw.snd_wl1, (jint)rw.snd_wnd, (jint)rw.max_window, (jint)rw.rcv_wnd, (jint)rw.rcv_wup };
    (*env)->SetIntArrayRegion(env, w, 0, 5, v);
    return 0;
}

static jint lm_tcp_set_window(JNIEnv *env, jclass cls, jint fd, jintArray w)
{
    (void)cls;
    jint v[5];
    (*env)->GetIntArrayRegion(env, w, 0, 5, v);
    struct tcp_repair_window rw = { (uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2], (uint32_t)v[3], (uint32_t)v[4] };
    return (jint)LM_RETRY(setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &rw, sizeof(rw)));
}

/* TCP_REPAIR_OPTIONS from (code, value) pairs: at most 4 options. */
static jint lm_tcp_set_options(JNIEnv *env, jclass cls, jint fd, jintArray pairs)
{
    (void)cls;
    jsize n = (*env)->GetArrayLength(env, pairs);
    if (n % 2 != 0 || n > 8)
        return -EINVAL;
    jint v[8];
    (*env)->GetIntArrayRegion(env, pairs, 0, n, v);
    struct tcp_repair_opt opts[4];
    for (jsize i = 0; i < n / 2; i++) {
        opts[i].opt_code = (uint32_t)v[2 * i];
        opts[i].opt_val = (uint32_t)v[2 * i + 1];
    }
    if (n == 0)
        return 0;
    return (jint)LM_RETRY(setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, (socklen_t)(n / 2 * sizeof(opts[0]))));
}

static jlong lm_tcp_recv(JNIEnv *env, jclass cls, jint fd, jlong addr, jlong len, jint flags)
{
    (void)env;
    (void)cls;
    return (jlong)LM_RETRY(recv(fd, LM_ADDR(addr), (size_t)len, flags));
}

static jlong lm_tcp_send(JNIEnv *env, jclass cls, jint fd, jlong addr, jlong len, jint flags)
{
    (void)env;
    (void)cls;
    return (jlong)LM_RETRY(send(fd, LM_ADDR(addr), (size_t)len, flags | MSG_NOSIGNAL));
}

static jint lm_tcp_bind(JNIEnv *env, jclass cls, jint fd, jlong addr, jint len)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(bind(fd, LM_ADDR(addr), (socklen_t)len));
}

/* connect: in repair mode it sends no SYN and puts the socket straight into ESTABLISHED. */
static jint lm_tcp_connect(JNIEnv *env, jclass cls, jint fd, jlong addr, jint len)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(connect(fd, LM_ADDR(addr), (socklen_t)len));
}

/* A one-instruction classic BPF filter that accepts nothing: TCP drops every segment before it is processed. */
static jint lm_tcp_attach_drop_filter(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    struct sock_filter drop[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
    struct sock_fprog prog = { .len = 1, .filter = drop };
    return (jint)LM_RETRY(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)));
}

static jint lm_tcp_detach_filter(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    int unused = 0;
    return (jint)LM_RETRY(setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)));
}

/* The number of instructions of the classic BPF filter attached to the socket (0: none), or -errno. */
static jint lm_tcp_filter_length(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    socklen_t len = 0;
    long rc = LM_RETRY(getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &len));
    return rc < 0 ? (jint)rc : (jint)len;
}

static jlong lm_tcprepair_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, tcprepair_constants, LM_ARRAY_SIZE(tcprepair_constants), name);
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_tcprepair_constant },
    { "nativeSocket", "(III)I", (void *)lm_tcp_socket },
    { "nativeSetInt", "(IIII)I", (void *)lm_tcp_set_int },
    { "nativeGetInt", "(III)J", (void *)lm_tcp_get_int },
    { "nativeQueueLen", "(II)J", (void *)lm_tcp_queue_len },
    { "nativeInfo", "(I[I)I", (void *)lm_tcp_info },
    { "nativeGetWindow", "(I[I)I", (void *)lm_tcp_get_window },
    { "nativeSetWindow", "(I[I)I", (void *)lm_tcp_set_window },
    { "nativeSetOptions", "(I[I)I", (void *)lm_tcp_set_options },
    { "nativeRecv", "(IJJI)J", (void *)lm_tcp_recv },
    { "nativeSend", "(IJJI)J", (void *)lm_tcp_send },
    { "nativeBind", "(IJI)I", (void *)lm_tcp_bind },
    { "nativeConnect", "(IJI)I", (void *)lm_tcp_connect },
    { "nativeAttachDropFilter", "(I)I", (void *)lm_tcp_attach_drop_filter },
    { "nativeDetachFilter", "(I)I", (void *)lm_tcp_detach_filter },
    { "nativeFilterLength", "(I)I", (void *)lm_tcp_filter_length },
};

int lm_tcprepair_register(JNIEnv *env)
{
    return lm_register(env, "TcpRepair", methods, LM_ARRAY_SIZE(methods));
}
