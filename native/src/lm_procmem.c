/*
 * Another process's memory: process_vm_readv/writev over iovec batches, and pread/pwrite loops
 * for /proc/PID/mem. Paired with io.lazymig.jni.ProcessMemory (and its IoVecBatch).
 *
 * Both loops report a partial transfer the same way: the return value is the number of bytes
 * done, and result[0] the errno that stopped it (0 when everything was transferred).
 */
#define _GNU_SOURCE
#include "lm_util.h"

#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

static const struct lm_constant procmem_constants[] = {
    LM_CONST(IOV_MAX),
    { "IOVEC_SIZE", (jlong)sizeof(struct iovec) },
    { "IOVEC_BASE_OFFSET", (jlong)offsetof(struct iovec, iov_base) },
    { "IOVEC_LEN_OFFSET", (jlong)offsetof(struct iovec, iov_len) },
};

static jlong lm_procmem_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, procmem_constants, LM_ARRAY_SIZE(procmem_constants), name);
}

static void lm_procmem_result(JNIEnv *env, jlongArray jresult, int err)
{
    jlong e = err;
    (*env)->SetLongArrayRegion(env, jresult, 0, 1, &e);
}

/*
 * Copies local[i] <-> remote[i] for i < count, in calls of at most IOV_MAX entries. Entry i of
 * both arrays must have the same length (the Java batch guarantees it; checked again here).
 * After a partial transfer, the next call starts exactly where it stopped (possibly inside an
 * entry, whose first iovec is then adjusted for the call and restored after it), so the first
 * byte that cannot be copied is the one whose errno is reported.
 */
static jlong lm_procmem_vm_transfer(JNIEnv *env, jclass cls, jint pid, jlong local_address, jlong remote_address,
                                    jint count, jboolean write, jlongArray jresult)
{
    (void)cls;
    struct iovec *local = LM_ADDR(local_address);
    struct iovec *remote = LM_ADDR(remote_address);
    size_t n = count < 0 ? 0 : (size_t)count;
    for (size_t j = 0; j < n; j++) {
        if (local[j].iov_len != remote[j].iov_len) {
            lm_procmem_result(env, jresult, EINVAL);
            return 0;
        }
    }

    jlong done = 0;
    int err = 0;
    size_t i = 0;   /* first entry not fully transferred */
    size_t off = 0; /* bytes of entry i already transferred */
    while (i < n) {
        size_t batch = n - i < IOV_MAX ? n - i : IOV_MAX;
        struct iovec local0 = local[i], remote0 = remote[i];
        local[i].iov_base = (char *)local[i].iov_base + off;
        local[i].iov_len -= off;
        remote[i].iov_base = (char *)remote[i].iov_base + off;
        remote[i].iov_len -= off;
        long rc = write ? LM_RETRY(process_vm_writev(pid, local + i, batch, remote + i, batch, 0))
                        : LM_RETRY(process_vm_readv(pid, local + i, batch, remote + i, batch, 0));
        local[i] = local0;
        remote[i] = remote0;
        if (rc < 0) {
            err = (int)-rc;
            break;
        }
        if (rc == 0) { /* only possible for empty entries, which the Java side refuses */
            err = EIO;
            break;
        }
        done += rc;
        size_t left = (size_t)rc;
        while (left > 0 && i < n) {
            size_t rest = local[i].iov_len - off;
            if (left >= rest) {
                left -= rest;
                i++;
                off = 0;
            } else {
                off += left;
                left = 0;
            }
        }
        /* Zero-length entries after the last byte would never be "reached" by a byte count. */
        while (i < n && local[i].iov_len == 0)
            i++;
    }
    lm_procmem_result(env, jresult, err);
    return done;
}

/* pread/pwrite of [address, address+len) at `offset` of fd until done, EOF or an error. */
static jlong lm_procmem_file_transfer(JNIEnv *env, jclass cls, jint fd, jlong address, jlong len, jlong offset,
                                      jboolean write, jlongArray jresult)
{
    (void)cls;
    char *p = LM_ADDR(address);
    jlong done = 0;
    int err = 0;
    while (done < len) {
        long rc = write ? LM_RETRY(pwrite(fd, p + done, (size_t)(len - done), (off_t)(offset + done)))
                        : LM_RETRY(pread(fd, p + done, (size_t)(len - done), (off_t)(offset + done)));
        if (rc < 0) {
            err = (int)-rc;
            break;
        }
        if (rc == 0) { /* /proc/PID/mem gives 0 when the process has no mm left */
            err = EIO;
            break;
        }
        done += rc;
    }
    lm_procmem_result(env, jresult, err);
    return done;
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_procmem_constant },
    { "nativeVmTransfer", "(IJJIZ[J)J", (void *)lm_procmem_vm_transfer },
    { "nativeFileTransfer", "(IJJJZ[J)J", (void *)lm_procmem_file_transfer },
};

int lm_procmem_register(JNIEnv *env)
{
    return lm_register(env, "ProcessMemory", methods, LM_ARRAY_SIZE(methods));
}
