/* Shared helpers of the shim: EINTR retry, constant tables, native registration. */
#ifndef LM_UTIL_H
#define LM_UTIL_H

#include <errno.h>
#include <jni.h>
#include <stddef.h>
#include <stdint.h>

#define LM_PACKAGE "io/lazymig/jni/"
#define LM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LM_ADDR(x) ((void *)(intptr_t)(x))

/* Evaluate a libc call returning -1/errno, retrying EINTR; yields the result or -errno. */
#define LM_RETRY(expr)                                  \
    ({                                                  \
        long lm_rc_;                                    \
        do {                                            \
            lm_rc_ = (long)(expr);                      \
        } while (lm_rc_ == -1 && errno == EINTR);       \
        lm_rc_ == -1 ? -(long)errno : lm_rc_;           \
    })

/* A kernel constant or layout fact, looked up by name from Java at class initialisation. */
struct lm_constant {
    const char *name;
    jlong value;
};
#define LM_CONST(c) { #c, (jlong)(c) }

/* Returns the value of `name` in `table`; throws NoSuchFieldError for an unknown name. */
jlong lm_constant_lookup(JNIEnv *env, const struct lm_constant *table, size_t n, jstring name);

/* RegisterNatives on LM_PACKAGE + simple_name; returns 0 or -1 with an exception pending. */
int lm_register(JNIEnv *env, const char *simple_name, const JNINativeMethod *methods, size_t n);
void lm_unregister(JNIEnv *env, const char *simple_name);

/* One register function per concern (one C file each), called from JNI_OnLoad in order. */
int lm_errors_register(JNIEnv *env);
int lm_buffer_register(JNIEnv *env);
int lm_fd_register(JNIEnv *env);
int lm_system_register(JNIEnv *env);
int lm_uffd_register(JNIEnv *env);
int lm_poll_register(JNIEnv *env);
int lm_unixsocket_register(JNIEnv *env);
int lm_pidfd_register(JNIEnv *env);
int lm_ptrace_register(JNIEnv *env);
int lm_procmem_register(JNIEnv *env);
int lm_memory_register(JNIEnv *env);
int lm_cpuid_register(JNIEnv *env);
int lm_pagemap_register(JNIEnv *env);
int lm_sched_register(JNIEnv *env);
int lm_pipe_register(JNIEnv *env);
int lm_memfd_register(JNIEnv *env);
int lm_clock_register(JNIEnv *env);
int lm_fhandle_register(JNIEnv *env);
int lm_sockets_register(JNIEnv *env);
int lm_tcprepair_register(JNIEnv *env);

#endif
