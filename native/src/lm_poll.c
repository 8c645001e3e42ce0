/* poll(2) on several fds, paired with io.lazymig.jni.Poll. */
#define _GNU_SOURCE
#include "lm_util.h"

#include <poll.h>
#include <stdlib.h>
#include <time.h>

/* Arrays up to this many fds are staged on the stack; more are malloc'ed (rare). */
#define LM_POLL_STACK_FDS 64

static const struct lm_constant poll_constants[] = {
    LM_CONST(POLLIN),   LM_CONST(POLLPRI),  LM_CONST(POLLOUT),  LM_CONST(POLLERR),
    LM_CONST(POLLHUP),  LM_CONST(POLLNVAL), LM_CONST(POLLRDHUP),
    { "POLLFD_SIZE", (jlong)sizeof(struct pollfd) },
    { "OFFSET_FD", (jlong)offsetof(struct pollfd, fd) },
    { "OFFSET_EVENTS", (jlong)offsetof(struct pollfd, events) },
    { "OFFSET_REVENTS", (jlong)offsetof(struct pollfd, revents) },
};

static jlong lm_poll_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, poll_constants, LM_ARRAY_SIZE(poll_constants), name);
}

static long lm_poll_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * poll(2), retrying EINTR with the time that is left (a negative timeout waits forever and is
 * retried as is). Returns the number of ready fds, 0 on timeout, or -errno.
 */
static int lm_poll_retry(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    long deadline = timeout_ms > 0 ? lm_poll_now_ms() + timeout_ms : 0;
    int wait = timeout_ms;
    for (;;) {
        int rc = poll(fds, n, wait);
        if (rc >= 0)
            return rc;
        if (errno != EINTR)
            return -errno;
        if (timeout_ms > 0) {
            long left = deadline - lm_poll_now_ms();
            wait = left > 0 ? (int)left : 0;
        }
    }
}

/* The reusable form: `address` holds `n` struct pollfd, written and read by Java in place. */
static jint lm_poll_address(JNIEnv *env, jclass cls, jlong address, jint n, jint timeout_ms)
{
    (void)env;
    (void)cls;
    return lm_poll_retry((struct pollfd *)LM_ADDR(address), (nfds_t)n, timeout_ms);
}

/* The array form: fds[i]/events[i] in, revents[i] out; Java checked that all have length n. */
static jint lm_poll_arrays(JNIEnv *env, jclass cls, jintArray jfds, jshortArray jevents, jshortArray jrevents,
                           jint n, jint timeout_ms)
{
    (void)cls;
    struct pollfd stack_fds[LM_POLL_STACK_FDS];
    jint stack_ints[LM_POLL_STACK_FDS];
    jshort stack_shorts[LM_POLL_STACK_FDS];
    struct pollfd *fds = stack_fds;
    jint *ints = stack_ints;
    jshort *shorts = stack_shorts;
    void *heap = NULL;
    if (n > LM_POLL_STACK_FDS) {
        heap = malloc((size_t)n * (sizeof(struct pollfd) + sizeof(jint) + sizeof(jshort)));
        if (heap == NULL)
            return -ENOMEM;
        fds = heap;
        ints = (jint *)(fds + n);
        shorts = (jshort *)(ints + n);
    }
    (*env)->GetIntArrayRegion(env, jfds, 0, n, ints);
    (*env)->GetShortArrayRegion(env, jevents, 0, n, shorts);
    for (jint i = 0; i < n; i++) {
        fds[i].fd = ints[i];
        fds[i].events = shorts[i];
        fds[i].revents = 0;
    }
    int rc = lm_poll_retry(fds, (nfds_t)n, timeout_ms);
    if (rc >= 0) {
        for (jint i = 0; i < n; i++)
            shorts[i] = fds[i].revents;
        (*env)->SetShortArrayRegion(env, jrevents, 0, n, shorts);
    }
    free(heap);
    return rc;
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_poll_constant },
    { "nativePollAddress", "(JII)I", (void *)lm_poll_address },
    { "nativePollArrays", "([I[S[SII)I", (void *)lm_poll_arrays },
};

int lm_poll_register(JNIEnv *env)
{
    return lm_register(env, "Poll", methods, LM_ARRAY_SIZE(methods));
}
