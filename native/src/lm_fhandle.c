/*
 * open_by_handle_at: a file opened from the handle the kernel printed for it (an inotify watch's
 * f_handle in fdinfo), paired with io.lazymig.jni.FileHandles. Needs CAP_DAC_READ_SEARCH.
 */
#define _GNU_SOURCE
#include "lm_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

/*
 * open_by_handle_at(mount_fd, {bytes, type, handle}, flags | O_CLOEXEC): the new fd or -errno. A
 * handle longer than MAX_HANDLE_SZ is EINVAL before the kernel sees it.
 */
static jint lm_fhandle_open(JNIEnv *env, jclass cls, jint mount_fd, jint type, jbyteArray handle, jint flags)
{
    (void)cls;
    jsize n = (*env)->GetArrayLength(env, handle);
    if (n < 0 || n > MAX_HANDLE_SZ)
        return -EINVAL;
    struct file_handle *fh = malloc(sizeof(*fh) + (size_t)n);
    if (fh == NULL)
        return -ENOMEM;
    fh->handle_bytes = (unsigned int)n;
    fh->handle_type = type;
    (*env)->GetByteArrayRegion(env, handle, 0, n, (jbyte *)fh->f_handle);
    jint rc = (jint)LM_RETRY(open_by_handle_at(mount_fd, fh, flags | O_CLOEXEC));
    free(fh);
    return rc;
}

static const struct lm_constant constants[] = {
    LM_CONST(MAX_HANDLE_SZ),
};

static jlong lm_fhandle_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, constants, LM_ARRAY_SIZE(constants), name);
}

static const JNINativeMethod methods[] = {
    { "nativeOpen", "(II[BI)I", (void *)lm_fhandle_open },
    { "constant", "(Ljava/lang/String;)J", (void *)lm_fhandle_constant },
};

int lm_fhandle_register(JNIEnv *env)
{
    return lm_register(env, "FileHandles", methods, LM_ARRAY_SIZE(methods));
}
