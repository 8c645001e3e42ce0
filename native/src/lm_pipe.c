/* Pipes: create, duplicate the buffer without consuming it (tee), size, bytes queued. Paired with
 * io.lazymig.jni.Pipes. */
#define _GNU_SOURCE
#include "lm_util.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const struct lm_constant pipe_constants[] = {
    LM_CONST(SPLICE_F_NONBLOCK), LM_CONST(F_GETPIPE_SZ), LM_CONST(F_SETPIPE_SZ), LM_CONST(PIPE_BUF),
};

static jlong lm_pipe_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, pipe_constants, LM_ARRAY_SIZE(pipe_constants), name);
}

/* Both ends, packed as (write << 32) | read; or -errno. */
static jlong lm_pipe_create(JNIEnv *env, jclass cls, jint flags)
{
    (void)env;
    (void)cls;
    int fds[2];
    if (pipe2(fds, flags | O_CLOEXEC) != 0)
        return -(jlong)errno;
    return ((jlong)fds[1] << 32) | (jlong)(uint32_t)fds[0];
}

static jlong lm_pipe_tee(JNIEnv *env, jclass cls, jint in, jint out, jlong len, jint flags)
{
    (void)env;
    (void)cls;
    return LM_RETRY(tee(in, out, (size_t)len, (unsigned int)flags));
}

static jint lm_pipe_get_size(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(fcntl(fd, F_GETPIPE_SZ));
}

static jint lm_pipe_set_size(JNIEnv *env, jclass cls, jint fd, jint size)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(fcntl(fd, F_SETPIPE_SZ, size));
}

static jint lm_pipe_queued(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    int n = 0;
    long rc = LM_RETRY(ioctl(fd, FIONREAD, &n));
    return rc < 0 ? (jint)rc : n;
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_pipe_constant },
    { "nativeCreate", "(I)J", (void *)lm_pipe_create },
    { "nativeTee", "(IIJI)J", (void *)lm_pipe_tee },
    { "nativeGetSize", "(I)I", (void *)lm_pipe_get_size },
    { "nativeSetSize", "(II)I", (void *)lm_pipe_set_size },
    { "nativeQueued", "(I)I", (void *)lm_pipe_queued },
};

int lm_pipe_register(JNIEnv *env)
{
    return lm_register(env, "Pipes", methods, LM_ARRAY_SIZE(methods));
}
