/*
 * The calling process's own address space: mmap, munmap, mremap, mprotect, madvise, and a
 * direct ByteBuffer view of an address range. Paired with io.lazymig.jni.Memory.
 */
#define _GNU_SOURCE
#include "lm_util.h"

#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static const struct lm_constant memory_constants[] = {
    LM_CONST(PROT_NONE),     LM_CONST(PROT_READ),         LM_CONST(PROT_WRITE),     LM_CONST(PROT_EXEC),
    LM_CONST(MAP_SHARED),    LM_CONST(MAP_PRIVATE),       LM_CONST(MAP_ANONYMOUS),  LM_CONST(MAP_FIXED),
    LM_CONST(MAP_FIXED_NOREPLACE), LM_CONST(MAP_NORESERVE), LM_CONST(MAP_POPULATE), LM_CONST(MAP_GROWSDOWN),
    LM_CONST(MREMAP_MAYMOVE), LM_CONST(MREMAP_FIXED),
    LM_CONST(MADV_NORMAL),   LM_CONST(MADV_WILLNEED),     LM_CONST(MADV_DONTNEED),  LM_CONST(MADV_REMOVE),
    LM_CONST(MADV_HUGEPAGE), LM_CONST(MADV_NOHUGEPAGE), LM_CONST(MADV_SEQUENTIAL), LM_CONST(MADV_RANDOM),
    LM_CONST(MADV_DONTFORK), LM_CONST(MADV_DONTDUMP), LM_CONST(MADV_MERGEABLE), LM_CONST(MADV_WIPEONFORK),   LM_CONST(MADV_POPULATE_READ),
    LM_CONST(MADV_POPULATE_WRITE),
};

static jlong lm_memory_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, memory_constants, LM_ARRAY_SIZE(memory_constants), name);
}

/* Returns the mapping's address or -errno (user addresses are far below the -errno range). */
static jlong lm_memory_mmap(JNIEnv *env, jclass cls, jlong address, jlong len, jint prot, jint flags, jint fd,
                            jlong offset)
{
    (void)env;
    (void)cls;
    void *p = mmap(LM_ADDR(address), (size_t)len, prot, flags, fd, (off_t)offset);
    return p == MAP_FAILED ? -(jlong)errno : (jlong)(intptr_t)p;
}

static jint lm_memory_munmap(JNIEnv *env, jclass cls, jlong address, jlong len)
{
    (void)env;
    (void)cls;
    return munmap(LM_ADDR(address), (size_t)len) == 0 ? 0 : -errno;
}

static jlong lm_memory_mremap(JNIEnv *env, jclass cls, jlong old_address, jlong old_len, jlong new_len,
                              jint flags, jlong new_address)
{
    (void)env;
    (void)cls;
    void *p = mremap(LM_ADDR(old_address), (size_t)old_len, (size_t)new_len, flags, LM_ADDR(new_address));
    return p == MAP_FAILED ? -(jlong)errno : (jlong)(intptr_t)p;
}

static jint lm_memory_mprotect(JNIEnv *env, jclass cls, jlong address, jlong len, jint prot)
{
    (void)env;
    (void)cls;
    return mprotect(LM_ADDR(address), (size_t)len, prot) == 0 ? 0 : -errno;
}

static jint lm_memory_madvise(JNIEnv *env, jclass cls, jlong address, jlong len, jint advice)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(madvise(LM_ADDR(address), (size_t)len, advice));
}

/* A direct ByteBuffer over [address, address+len) that does not own the memory. */
static jobject lm_memory_view(JNIEnv *env, jclass cls, jlong address, jint len)
{
    (void)cls;
    return (*env)->NewDirectByteBuffer(env, LM_ADDR(address), (jlong)len);
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_memory_constant },
    { "nativeMmap", "(JJIIIJ)J", (void *)lm_memory_mmap },
    { "nativeMunmap", "(JJ)I", (void *)lm_memory_munmap },
    { "nativeMremap", "(JJJIJ)J", (void *)lm_memory_mremap },
    { "nativeMprotect", "(JJI)I", (void *)lm_memory_mprotect },
    { "nativeMadvise", "(JJI)I", (void *)lm_memory_madvise },
    { "nativeView", "(JI)Ljava/nio/ByteBuffer;", (void *)lm_memory_view },
};

int lm_memory_register(JNIEnv *env)
{
    return lm_register(env, "Memory", methods, LM_ARRAY_SIZE(methods));
}
