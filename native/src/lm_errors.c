/* errno values and their names and texts, paired with io.lazymig.jni.Errno. */
#define _GNU_SOURCE
#include "lm_util.h"

#include <string.h>

static const struct lm_constant errno_constants[] = {
    LM_CONST(EPERM),  LM_CONST(ENOENT), LM_CONST(ESRCH),  LM_CONST(EINTR),     LM_CONST(EIO),
    LM_CONST(EBADF),  LM_CONST(ECHILD), LM_CONST(EAGAIN), LM_CONST(ENOMEM),    LM_CONST(EACCES),
    LM_CONST(EFAULT), LM_CONST(EBUSY),  LM_CONST(EEXIST), LM_CONST(EINVAL),    LM_CONST(ENOSPC),
    LM_CONST(ENOSYS), LM_CONST(EPIPE),  LM_CONST(ENOTTY), LM_CONST(ECONNRESET), LM_CONST(EMSGSIZE),
    LM_CONST(ENOTCONN), LM_CONST(ECONNREFUSED), LM_CONST(ETIMEDOUT), LM_CONST(ENXIO), LM_CONST(EADDRNOTAVAIL),
    LM_CONST(EADDRINUSE), LM_CONST(ENOBUFS),
};

static jlong lm_errno_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, errno_constants, LM_ARRAY_SIZE(errno_constants), name);
}

static jstring lm_errno_name(JNIEnv *env, jclass cls, jint err)
{
    (void)cls;
    const char *name = strerrorname_np(err);
    return name == NULL ? NULL : (*env)->NewStringUTF(env, name);
}

static jstring lm_errno_text(JNIEnv *env, jclass cls, jint err)
{
    (void)cls;
    const char *text = strerrordesc_np(err);
    return (*env)->NewStringUTF(env, text == NULL ? "Unknown error" : text);
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_errno_constant },
    { "nativeName", "(I)Ljava/lang/String;", (void *)lm_errno_name },
    { "nativeText", "(I)Ljava/lang/String;", (void *)lm_errno_text },
};

int lm_errors_register(JNIEnv *env)
{
    return lm_register(env, "Errno", methods, LM_ARRAY_SIZE(methods));
}
