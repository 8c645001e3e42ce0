/* JNI_OnLoad: binds every concern's natives with RegisterNatives, unwinding on failure. */
#include "lm_util.h"

#include "io_lazymig_jni_NativeLibrary.h"

static jint lm_abi_version(JNIEnv *env, jclass cls)
{
    (void)env;
    (void)cls;
    return io_lazymig_jni_NativeLibrary_ABI_VERSION;
}

static const JNINativeMethod library_methods[] = {
    { "nativeAbiVersion", "()I", (void *)lm_abi_version },
};

static int lm_library_register(JNIEnv *env)
{
    return lm_register(env, "NativeLibrary", library_methods, LM_ARRAY_SIZE(library_methods));
}

struct lm_module {
    const char *java_class;
    int (*register_fn)(JNIEnv *env);
};

static const struct lm_module modules[] = {
    { "NativeLibrary", lm_library_register },
    { "Errno", lm_errors_register },
    { "Buffers", lm_buffer_register },
    { "FileDescriptor", lm_fd_register },
    { "SystemInfo", lm_system_register },
    { "Userfaultfd", lm_uffd_register },
    { "Poll", lm_poll_register },
    { "UnixSocket", lm_unixsocket_register },
    { "Pidfd", lm_pidfd_register },
    { "Ptrace", lm_ptrace_register },
    { "ProcessMemory", lm_procmem_register },
    { "Memory", lm_memory_register },
    { "Cpuid", lm_cpuid_register },
    { "PagemapScan", lm_pagemap_register },
    { "ThreadScheduling", lm_sched_register },
    { "Pipes", lm_pipe_register },
    { "SharedMemory", lm_memfd_register },
    { "Clocks", lm_clock_register },
    { "FileHandles", lm_fhandle_register },
    { "Sockets", lm_sockets_register },
    { "TcpRepair", lm_tcprepair_register },
};

JNIEXPORT jint JNI_OnLoad(JavaVM *vm, void *reserved)
{
    (void)reserved;
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
        return JNI_ERR;
    for (size_t i = 0; i < LM_ARRAY_SIZE(modules); i++) {
        if (modules[i].register_fn(env) != 0) {
            /* Leave nothing half-bound: the Java side reports the pending error. */
            for (size_t j = 0; j < i; j++)
                lm_unregister(env, modules[j].java_class);
            return JNI_ERR;
        }
    }
    return JNI_VERSION_1_8;
}
