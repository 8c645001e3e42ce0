/*
 * userfaultfd: create, UFFDIO_API, REGISTER/UNREGISTER, COPY, ZEROPAGE, WAKE and batched reads of
 * struct uffd_msg. Paired with io.lazymig.jni.Userfaultfd (+ io.lazymig.jni.UffdMessage, whose
 * constant table, the uffd_msg layout, is bound here too).
 */
#define _GNU_SOURCE
#include "lm_util.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Debian 12 ships the linux 6.1 uapi header; newer kernels (6.18 here) know more. */
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif
#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE (0x05)
#endif
#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON (0x08)
#endif

#define LM_MSG_OFFSET(name, member) { name, (jlong)offsetof(struct uffd_msg, member) }

static const struct lm_constant uffd_constants[] = {
    LM_CONST(UFFD_USER_MODE_ONLY),
    /* UFFDIO_API feature bits */
    LM_CONST(UFFD_FEATURE_PAGEFAULT_FLAG_WP),
    LM_CONST(UFFD_FEATURE_EVENT_FORK),
    LM_CONST(UFFD_FEATURE_EVENT_REMAP),
    LM_CONST(UFFD_FEATURE_EVENT_REMOVE),
    LM_CONST(UFFD_FEATURE_MISSING_HUGETLBFS),
    LM_CONST(UFFD_FEATURE_MISSING_SHMEM),
    LM_CONST(UFFD_FEATURE_EVENT_UNMAP),
    LM_CONST(UFFD_FEATURE_SIGBUS),
    LM_CONST(UFFD_FEATURE_THREAD_ID),
    LM_CONST(UFFD_FEATURE_MINOR_HUGETLBFS),
    LM_CONST(UFFD_FEATURE_MINOR_SHMEM),
    LM_CONST(UFFD_FEATURE_EXACT_ADDRESS),
    LM_CONST(UFFD_FEATURE_WP_HUGETLBFS_SHMEM),
    LM_CONST(UFFD_FEATURE_WP_UNPOPULATED),
    LM_CONST(UFFD_FEATURE_POISON),
    LM_CONST(UFFD_FEATURE_WP_ASYNC),
    LM_CONST(UFFD_FEATURE_MOVE),
    /* UFFDIO_REGISTER modes */
    LM_CONST(UFFDIO_REGISTER_MODE_MISSING),
    LM_CONST(UFFDIO_REGISTER_MODE_WP),
    LM_CONST(UFFDIO_REGISTER_MODE_MINOR),
    /* COPY / ZEROPAGE modes */
    LM_CONST(UFFDIO_COPY_MODE_DONTWAKE),
    LM_CONST(UFFDIO_COPY_MODE_WP),
    LM_CONST(UFFDIO_ZEROPAGE_MODE_DONTWAKE),
    /* bit numbers in the ioctls masks returned by UFFDIO_API and UFFDIO_REGISTER */
    LM_CONST(_UFFDIO_REGISTER),
    LM_CONST(_UFFDIO_UNREGISTER),
    LM_CONST(_UFFDIO_WAKE),
    LM_CONST(_UFFDIO_COPY),
    LM_CONST(_UFFDIO_ZEROPAGE),
    LM_CONST(_UFFDIO_MOVE),
    LM_CONST(_UFFDIO_WRITEPROTECT),
    LM_CONST(_UFFDIO_CONTINUE),
    LM_CONST(_UFFDIO_POISON),
    LM_CONST(_UFFDIO_API),
};

/* The uffd_msg layout and the values found in it; read by io.lazymig.jni.UffdMessage. */
static const struct lm_constant msg_constants[] = {
    { "MSG_SIZE", (jlong)sizeof(struct uffd_msg) },
    LM_MSG_OFFSET("OFFSET_EVENT", event),
    LM_MSG_OFFSET("OFFSET_PAGEFAULT_FLAGS", arg.pagefault.flags),
    LM_MSG_OFFSET("OFFSET_PAGEFAULT_ADDRESS", arg.pagefault.address),
    LM_MSG_OFFSET("OFFSET_PAGEFAULT_PTID", arg.pagefault.feat.ptid),
    LM_MSG_OFFSET("OFFSET_FORK_UFD", arg.fork.ufd),
    LM_MSG_OFFSET("OFFSET_REMAP_FROM", arg.remap.from),
    LM_MSG_OFFSET("OFFSET_REMAP_TO", arg.remap.to),
    LM_MSG_OFFSET("OFFSET_REMAP_LEN", arg.remap.len),
    LM_MSG_OFFSET("OFFSET_REMOVE_START", arg.remove.start), /* UNMAP uses the same struct */
    LM_MSG_OFFSET("OFFSET_REMOVE_END", arg.remove.end),
    LM_CONST(UFFD_EVENT_PAGEFAULT),
    LM_CONST(UFFD_EVENT_FORK),
    LM_CONST(UFFD_EVENT_REMAP),
    LM_CONST(UFFD_EVENT_REMOVE),
    LM_CONST(UFFD_EVENT_UNMAP),
    LM_CONST(UFFD_PAGEFAULT_FLAG_WRITE),
    LM_CONST(UFFD_PAGEFAULT_FLAG_WP),
    LM_CONST(UFFD_PAGEFAULT_FLAG_MINOR),
};

static jlong lm_uffd_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, uffd_constants, LM_ARRAY_SIZE(uffd_constants), name);
}

static jlong lm_uffd_msg_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, msg_constants, LM_ARRAY_SIZE(msg_constants), name);
}

/*
 * A new uffd bound to the calling process's mm. The syscall is refused (EPERM) without
 * CAP_SYS_PTRACE when vm.unprivileged_userfaultfd=0, or may be missing (ENOSYS); then the
 * device /dev/userfaultfd, gated by its file mode, is tried. If the device cannot be opened
 * (absent, or no access), the syscall's errno is the more useful answer.
 */
static jint lm_uffd_create(JNIEnv *env, jclass cls, jint flags)
{
    (void)env;
    (void)cls;
    long fd = LM_RETRY(syscall(SYS_userfaultfd, flags));
    if (fd >= 0 || (fd != -EPERM && fd != -ENOSYS))
        return (jint)fd;
    long dev = LM_RETRY(open("/dev/userfaultfd", O_RDWR | O_CLOEXEC));
    if (dev < 0)
        return (jint)fd;
    long nfd = LM_RETRY(ioctl((int)dev, USERFAULTFD_IOC_NEW, flags));
    close((int)dev);
    return (jint)nfd;
}

/* UFFDIO_API; out[0] = features the kernel reports (all SUPPORTED ones), out[1] = ioctls. */
static jint lm_uffd_api(JNIEnv *env, jclass cls, jint fd, jlong features, jlongArray out)
{
    (void)cls;
    struct uffdio_api api = { .api = UFFD_API, .features = (__u64)features };
    long rc = LM_RETRY(ioctl(fd, UFFDIO_API, &api));
    if (rc < 0)
        return (jint)rc;
    jlong values[2] = { (jlong)api.features, (jlong)api.ioctls };
    (*env)->SetLongArrayRegion(env, out, 0, 2, values);
    return 0;
}

/* UFFDIO_REGISTER; out[0] = the ioctls allowed on the range (a bitmask of _UFFDIO_* bits). */
static jint lm_uffd_register_range(JNIEnv *env, jclass cls, jint fd, jlong start, jlong len, jlong mode,
                                   jlongArray out)
{
    (void)cls;
    struct uffdio_register reg = {
        .range = { .start = (__u64)start, .len = (__u64)len },
        .mode = (__u64)mode,
    };
    long rc = LM_RETRY(ioctl(fd, UFFDIO_REGISTER, &reg));
    if (rc < 0)
        return (jint)rc;
    jlong ioctls = (jlong)reg.ioctls;
    (*env)->SetLongArrayRegion(env, out, 0, 1, &ioctls);
    return 0;
}

static jint lm_uffd_unregister(JNIEnv *env, jclass cls, jint fd, jlong start, jlong len)
{
    (void)env;
    (void)cls;
    struct uffdio_range range = { .start = (__u64)start, .len = (__u64)len };
    return (jint)LM_RETRY(ioctl(fd, UFFDIO_UNREGISTER, &range));
}

static jint lm_uffd_wake(JNIEnv *env, jclass cls, jint fd, jlong start, jlong len)
{
    (void)env;
    (void)cls;
    struct uffdio_range range = { .start = (__u64)start, .len = (__u64)len };
    return (jint)LM_RETRY(ioctl(fd, UFFDIO_WAKE, &range));
}

/*
 * The kernel stores bytes done, or -errno, in the `copy`/`zeropage` out field; when it did part
 * of the range and then hit an error it returns EAGAIN from the ioctl and the field holds the
 * bytes done. So: ioctl success -> the whole length; failure -> the bytes done when positive,
 * else -errno. (The field is preset to 0 for failures that never reach it, such as EBADF.)
 */
static jlong lm_uffd_fill_result(long rc, jlong len, __s64 done)
{
    if (rc == 0)
        return len;
    return done > 0 ? (jlong)done : (jlong)rc;
}

/* EINTR is not retried here: a retry after partial progress would report the wrong count. */
static jlong lm_uffd_copy(JNIEnv *env, jclass cls, jint fd, jlong dst, jlong src, jlong len, jlong mode)
{
    (void)env;
    (void)cls;
    struct uffdio_copy c = { .dst = (__u64)dst, .src = (__u64)src, .len = (__u64)len, .mode = (__u64)mode, .copy = 0 };
    long rc = ioctl(fd, UFFDIO_COPY, &c) == 0 ? 0 : -errno;
    return lm_uffd_fill_result(rc, len, c.copy);
}

static jlong lm_uffd_zeropage(JNIEnv *env, jclass cls, jint fd, jlong start, jlong len, jlong mode)
{
    (void)env;
    (void)cls;
    struct uffdio_zeropage z = {
        .range = { .start = (__u64)start, .len = (__u64)len },
        .mode = (__u64)mode,
        .zeropage = 0,
    };
    long rc = ioctl(fd, UFFDIO_ZEROPAGE, &z) == 0 ? 0 : -errno;
    return lm_uffd_fill_result(rc, len, z.zeropage);
}

/*
 * One read(2) of up to `max` messages into `address`; returns the number of messages or -errno
 * (-EAGAIN when a non-blocking uffd has none). The kernel only ever returns whole messages;
 * a partial one would be a broken fd, reported as -EIO.
 */
static jint lm_uffd_read_messages(JNIEnv *env, jclass cls, jint fd, jlong address, jint max)
{
    (void)env;
    (void)cls;
    long n = LM_RETRY(read(fd, LM_ADDR(address), (size_t)max * sizeof(struct uffd_msg)));
    if (n < 0)
        return (jint)n;
    if (n % (long)sizeof(struct uffd_msg) != 0)
        return -EIO;
    return (jint)(n / (long)sizeof(struct uffd_msg));
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_uffd_constant },
    { "nativeCreate", "(I)I", (void *)lm_uffd_create },
    { "nativeApi", "(IJ[J)I", (void *)lm_uffd_api },
    { "nativeRegister", "(IJJJ[J)I", (void *)lm_uffd_register_range },
    { "nativeUnregister", "(IJJ)I", (void *)lm_uffd_unregister },
    { "nativeWake", "(IJJ)I", (void *)lm_uffd_wake },
    { "nativeCopy", "(IJJJJ)J", (void *)lm_uffd_copy },
    { "nativeZeropage", "(IJJJ)J", (void *)lm_uffd_zeropage },
    { "nativeReadMessages", "(IJI)I", (void *)lm_uffd_read_messages },
};

static const JNINativeMethod msg_methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_uffd_msg_constant },
};

int lm_uffd_register(JNIEnv *env)
{
    if (lm_register(env, "Userfaultfd", methods, LM_ARRAY_SIZE(methods)) != 0)
        return -1;
    if (lm_register(env, "UffdMessage", msg_methods, LM_ARRAY_SIZE(msg_methods)) != 0) {
        lm_unregister(env, "Userfaultfd");
        return -1;
    }
    return 0;
}
