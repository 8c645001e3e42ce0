/* Shared memory objects: memfd_create, their seals (F_GET_SEALS / F_ADD_SEALS) and their size
 * (ftruncate). Paired with io.lazymig.jni.SharedMemory. */
#define _GNU_SOURCE
#include "lm_util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static const struct lm_constant memfd_constants[] = {
    LM_CONST(MFD_CLOEXEC), LM_CONST(MFD_ALLOW_SEALING), LM_CONST(F_SEAL_SEAL), LM_CONST(F_SEAL_SHRINK),
    LM_CONST(F_SEAL_GROW), LM_CONST(F_SEAL_WRITE), LM_CONST(F_SEAL_FUTURE_WRITE),
};

static jlong lm_memfd_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, memfd_constants, LM_ARRAY_SIZE(memfd_constants), name);
}

static jint lm_memfd_create(JNIEnv *env, jclass cls, jstring name, jint flags)
{
    (void)cls;
    const char *cname = (*env)->GetStringUTFChars(env, name, NULL);
    if (cname == NULL)
        return -ENOMEM;
    long rc = LM_RETRY(memfd_create(cname, (unsigned int)flags));
    (*env)->ReleaseStringUTFChars(env, name, cname);
    return (jint)rc;
}

static jint lm_memfd_get_seals(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(fcntl(fd, F_GET_SEALS));
}

static jint lm_memfd_add_seals(JNIEnv *env, jclass cls, jint fd, jint seals)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(fcntl(fd, F_ADD_SEALS, seals));
}

static jint lm_memfd_truncate(JNIEnv *env, jclass cls, jint fd, jlong size)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(ftruncate(fd, (off_t)size));
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_memfd_constant },
    { "nativeCreate", "(Ljava/lang/String;I)I", (void *)lm_memfd_create },
    { "nativeGetSeals", "(I)I", (void *)lm_memfd_get_seals },
    { "nativeAddSeals", "(II)I", (void *)lm_memfd_add_seals },
    { "nativeTruncate", "(IJ)I", (void *)lm_memfd_truncate },
};

int lm_memfd_register(JNIEnv *env)
{
    return lm_register(env, "SharedMemory", methods, LM_ARRAY_SIZE(methods));
}
