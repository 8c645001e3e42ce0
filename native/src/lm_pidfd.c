/* pidfd_open, pidfd_getfd and pidfd_send_signal, paired with io.lazymig.jni.Pidfd. */
#define _GNU_SOURCE
#include "lm_util.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* For headers older than these syscalls: numbers of the unified table (424 and up), same on x86-64 and arm64. */
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* pidfd_open(pid, 0); the kernel always sets O_CLOEXEC on a pidfd. */
static jint lm_pidfd_open(JNIEnv *env, jclass cls, jint pid)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(syscall(SYS_pidfd_open, (pid_t)pid, 0U));
}

/*
 * pidfd_getfd(pidfd, target_fd, 0): a duplicate, in this process, of the target's fd. The new
 * fd always has FD_CLOEXEC. Needs PTRACE_MODE_ATTACH_REALCREDS over the target.
 */
static jint lm_pidfd_getfd(JNIEnv *env, jclass cls, jint pidfd, jint target_fd)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(syscall(SYS_pidfd_getfd, pidfd, target_fd, 0U));
}

/* pidfd_send_signal(pidfd, sig, NULL, 0): like kill(2), but cannot hit a recycled pid. */
static jint lm_pidfd_send_signal(JNIEnv *env, jclass cls, jint pidfd, jint sig)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(syscall(SYS_pidfd_send_signal, pidfd, sig, (siginfo_t *)NULL, 0U));
}

static const JNINativeMethod methods[] = {
    { "nativeOpen", "(I)I", (void *)lm_pidfd_open },
    { "nativeGetfd", "(II)I", (void *)lm_pidfd_getfd },
    { "nativeSendSignal", "(II)I", (void *)lm_pidfd_send_signal },
};

int lm_pidfd_register(JNIEnv *env)
{
    return lm_register(env, "Pidfd", methods, LM_ARRAY_SIZE(methods));
}
