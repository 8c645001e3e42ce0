/* Facts about this machine and the calling thread, paired with io.lazymig.jni.SystemInfo. */
#define _GNU_SOURCE
#include "lm_util.h"

#include <linux/capability.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* prctl to create POSIX timers with chosen ids (Linux 6.17, for CRIU); the build's headers may predate it. */
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif

static const struct lm_constant system_constants[] = {
    LM_CONST(SIGKILL), LM_CONST(SIGSTOP), LM_CONST(SIGCONT), LM_CONST(SIGTRAP), LM_CONST(SIGTERM),
    LM_CONST(SIGCHLD), LM_CONST(SIGSEGV), LM_CONST(SIGBUS),  LM_CONST(SIGUSR1), LM_CONST(SIGUSR2),
    LM_CONST(SIGINT),  LM_CONST(SIGHUP),  LM_CONST(SIGPIPE), LM_CONST(SIGALRM), LM_CONST(NSIG),
    LM_CONST(PR_SET_MM), LM_CONST(PR_SET_MM_MAP), LM_CONST(PR_SET_MM_MAP_SIZE), LM_CONST(PR_SET_NAME),
    LM_CONST(PR_GET_NAME), LM_CONST(PR_SET_DUMPABLE), LM_CONST(PR_GET_TID_ADDRESS),
    LM_CONST(PR_SET_PDEATHSIG), LM_CONST(PR_GET_PDEATHSIG), { "PRCTL_MM_MAP_SIZE", sizeof(struct prctl_mm_map) },
    LM_CONST(PR_TIMER_CREATE_RESTORE_IDS), LM_CONST(PR_TIMER_CREATE_RESTORE_IDS_OFF),
    LM_CONST(PR_TIMER_CREATE_RESTORE_IDS_ON),
#define LM_MM_MAP_OFF(f) { "PRCTL_MM_MAP_OFFSET_" #f, (jlong)offsetof(struct prctl_mm_map, f) }
    LM_MM_MAP_OFF(start_code), LM_MM_MAP_OFF(end_code), LM_MM_MAP_OFF(start_data), LM_MM_MAP_OFF(end_data),
    LM_MM_MAP_OFF(start_brk), LM_MM_MAP_OFF(brk), LM_MM_MAP_OFF(start_stack), LM_MM_MAP_OFF(arg_start),
    LM_MM_MAP_OFF(arg_end), LM_MM_MAP_OFF(env_start), LM_MM_MAP_OFF(env_end), LM_MM_MAP_OFF(auxv),
    LM_MM_MAP_OFF(auxv_size), LM_MM_MAP_OFF(exe_fd),
    LM_CONST(CAP_SYS_ADMIN), LM_CONST(CAP_SYS_PTRACE), LM_CONST(CAP_CHECKPOINT_RESTORE),
};

static jlong lm_system_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, system_constants, LM_ARRAY_SIZE(system_constants), name);
}

static jlong lm_page_size(JNIEnv *env, jclass cls)
{
    (void)env;
    (void)cls;
    return sysconf(_SC_PAGESIZE);
}

static jint lm_getpid(JNIEnv *env, jclass cls)
{
    (void)env;
    (void)cls;
    return getpid();
}

static jint lm_gettid(JNIEnv *env, jclass cls)
{
    (void)env;
    (void)cls;
    return (jint)syscall(SYS_gettid);
}

static jint lm_kill(JNIEnv *env, jclass cls, jint pid, jint sig)
{
    (void)env;
    (void)cls;
    return kill(pid, sig) == 0 ? 0 : -errno;
}

/* prctl(2) with raw arguments (pointers are addresses in this process). */
static jlong lm_prctl(JNIEnv *env, jclass cls, jint option, jlong a2, jlong a3, jlong a4, jlong a5)
{
    (void)env;
    (void)cls;
    return LM_RETRY(prctl(option, (unsigned long)a2, (unsigned long)a3, (unsigned long)a4, (unsigned long)a5));
}

/* kcmp(pid1, pid2, KCMP_FILE, fd1, fd2): 0 when both fds name one open file description. */
static jint lm_kcmp_file(JNIEnv *env, jclass cls, jint pid1, jint fd1, jint pid2, jint fd2)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(syscall(SYS_kcmp, (pid_t)pid1, (pid_t)pid2, KCMP_FILE, (unsigned long)fd1, (unsigned long)fd2));
}

/*
 * kcmp(pid, pid, KCMP_EPOLL_TFD, fd, {epfd, tfd, 0}): 0 when the file epoll epfd watches under fd
 * number tfd is the open file description at fd; -ENOENT when epfd has no watch on tfd.
 */
static jint lm_kcmp_epoll_target(JNIEnv *env, jclass cls, jint pid, jint fd, jint epfd, jint tfd)
{
    (void)env;
    (void)cls;
    struct kcmp_epoll_slot slot = { .efd = (__u32)epfd, .tfd = (__u32)tfd, .toff = 0 };
    return (jint)LM_RETRY(syscall(SYS_kcmp, (pid_t)pid, (pid_t)pid, KCMP_EPOLL_TFD, (unsigned long)fd,
                                  (unsigned long)&slot));
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_system_constant },
    { "nativePageSize", "()J", (void *)lm_page_size },
    { "nativeGetpid", "()I", (void *)lm_getpid },
    { "nativeGettid", "()I", (void *)lm_gettid },
    { "nativeKill", "(II)I", (void *)lm_kill },
    { "nativePrctl", "(IJJJJ)J", (void *)lm_prctl },
    { "nativeKcmpFile", "(IIII)I", (void *)lm_kcmp_file },
    { "nativeKcmpEpollTarget", "(IIII)I", (void *)lm_kcmp_epoll_target },
};

int lm_system_register(JNIEnv *env)
{
    return lm_register(env, "SystemInfo", methods, LM_ARRAY_SIZE(methods));
}
