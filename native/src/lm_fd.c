/* Plain file-descriptor calls, paired with io.lazymig.jni.FileDescriptor. */
#define _GNU_SOURCE
#include "lm_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static const struct lm_constant fd_constants[] = {
    LM_CONST(O_RDONLY), LM_CONST(O_WRONLY),   LM_CONST(O_RDWR),  LM_CONST(O_CREAT),
    LM_CONST(O_TRUNC),  LM_CONST(O_APPEND),   LM_CONST(O_EXCL),  LM_CONST(O_CLOEXEC),
    LM_CONST(O_NONBLOCK), LM_CONST(O_LARGEFILE), LM_CONST(O_DIRECTORY), LM_CONST(O_NOFOLLOW),
    LM_CONST(O_PATH),   LM_CONST(O_ACCMODE),  LM_CONST(SEEK_SET), LM_CONST(SEEK_CUR),
    LM_CONST(SEEK_END),
};

static jlong lm_fd_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, fd_constants, LM_ARRAY_SIZE(fd_constants), name);
}

static jint lm_fd_open(JNIEnv *env, jclass cls, jstring path, jint flags, jint mode)
{
    (void)cls;
    const char *cpath = (*env)->GetStringUTFChars(env, path, NULL);
    if (cpath == NULL)
        return -ENOMEM;
    long rc = LM_RETRY(open(cpath, flags, (mode_t)mode));
    (*env)->ReleaseStringUTFChars(env, path, cpath);
    return (jint)rc;
}

/* close() is not retried on EINTR: on Linux the fd is gone either way. */
static jint lm_fd_close(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    return close(fd) == 0 || errno == EINTR ? 0 : -errno;
}

static jint lm_fd_dup(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

static jlong lm_fd_read(JNIEnv *env, jclass cls, jint fd, jlong address, jlong len)
{
    (void)env;
    (void)cls;
    return LM_RETRY(read(fd, LM_ADDR(address), (size_t)len));
}

static jlong lm_fd_write(JNIEnv *env, jclass cls, jint fd, jlong address, jlong len)
{
    (void)env;
    (void)cls;
    return LM_RETRY(write(fd, LM_ADDR(address), (size_t)len));
}

static jlong lm_fd_pread(JNIEnv *env, jclass cls, jint fd, jlong address, jlong len, jlong off)
{
    (void)env;
    (void)cls;
    return LM_RETRY(pread(fd, LM_ADDR(address), (size_t)len, (off_t)off));
}

static jlong lm_fd_pwrite(JNIEnv *env, jclass cls, jint fd, jlong address, jlong len, jlong off)
{
    (void)env;
    (void)cls;
    return LM_RETRY(pwrite(fd, LM_ADDR(address), (size_t)len, (off_t)off));
}

static jint lm_fd_get_flags(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(fcntl(fd, F_GETFL));
}

static jint lm_fd_set_flags(JNIEnv *env, jclass cls, jint fd, jint flags)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(fcntl(fd, F_SETFL, flags));
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_fd_constant },
    { "nativeOpen", "(Ljava/lang/String;II)I", (void *)lm_fd_open },
    { "nativeClose", "(I)I", (void *)lm_fd_close },
    { "nativeDup", "(I)I", (void *)lm_fd_dup },
    { "nativeRead", "(IJJ)J", (void *)lm_fd_read },
    { "nativeWrite", "(IJJ)J", (void *)lm_fd_write },
    { "nativePread", "(IJJJ)J", (void *)lm_fd_pread },
    { "nativePwrite", "(IJJJ)J", (void *)lm_fd_pwrite },
    { "nativeGetFlags", "(I)I", (void *)lm_fd_get_flags },
    { "nativeSetFlags", "(II)I", (void *)lm_fd_set_flags },
};

int lm_fd_register(JNIEnv *env)
{
    return lm_register(env, "FileDescriptor", methods, LM_ARRAY_SIZE(methods));
}
