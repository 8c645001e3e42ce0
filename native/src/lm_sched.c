/*
 * The calling thread's scheduling: its nice value, the SCHED_IDLE and SCHED_FIFO policies and its
 * time slice (sched_attr.sched_runtime of a SCHED_OTHER thread, Linux >= 6.12), paired with
 * io.lazymig.jni.ThreadScheduling. Each acts on the calling thread alone (its tid), but the two
 * "_of" ones, which act on the task named.
 */
#define _GNU_SOURCE /* SCHED_RESET_ON_FORK */
#include "lm_util.h"

#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif

/* The kernel's struct sched_attr, first version (48 bytes); glibc 2.36 does not declare it. */
struct lm_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

static pid_t lm_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* setpriority(PRIO_PROCESS, gettid(), nice): on Linux a thread id names that thread alone. 0 or -errno. */
static jint lm_sched_set_nice(JNIEnv *env, jclass cls, jint nice)
{
    (void)env;
    (void)cls;
    if (setpriority(PRIO_PROCESS, (id_t)lm_gettid(), nice) != 0)
        return -errno;
    return 0;
}

/* The calling thread's nice value (getpriority, errno cleared first: -1 is a valid nice). */
static jint lm_sched_get_nice(JNIEnv *env, jclass cls)
{
    (void)env;
    (void)cls;
    errno = 0;
    int n = getpriority(PRIO_PROCESS, (id_t)lm_gettid());
    if (n == -1 && errno != 0)
        return -1000 - errno;
    return n;
}

/* SCHED_IDLE for the calling thread: any other thread that wakes on its CPU runs first. 0 or -errno. */
static jint lm_sched_set_idle(JNIEnv *env, jclass cls)
{
    (void)env;
    (void)cls;
    struct sched_param param;
    memset(&param, 0, sizeof(param));
    if (sched_setscheduler(0, SCHED_IDLE, &param) != 0)
        return -errno;
    return 0;
}

/*
 * SCHED_FIFO at the given priority for the calling thread, with SCHED_RESET_ON_FORK so that the
 * threads and processes it starts are ordinary ones: waking, it preempts every SCHED_OTHER thread
 * on its CPU at once, whatever their lag. 0 or -errno (EPERM without CAP_SYS_NICE).
 */
static jint lm_sched_set_fifo(JNIEnv *env, jclass cls, jint priority)
{
    (void)env;
    (void)cls;
    struct sched_param param;
    memset(&param, 0, sizeof(param));
    param.sched_priority = priority;
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &param) != 0)
        return -errno;
    return 0;
}

/*
 * SCHED_OTHER with a time slice of its own (the kernel clamps it to 0.1..100 ms): a thread with a
 * shorter slice than the running one preempts it when it wakes. The nice value is kept. 0 or -errno.
 */
static jint lm_sched_set_slice(JNIEnv *env, jclass cls, jlong slice_ns)
{
    (void)env;
    (void)cls;
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, (id_t)lm_gettid());
    if (nice == -1 && errno != 0)
        return -errno;
    struct lm_sched_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.sched_policy = SCHED_OTHER;
    attr.sched_nice = nice;
    attr.sched_runtime = (uint64_t)slice_ns;
    if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0)
        return -errno;
    return 0;
}

/* sched_getattr of the calling thread: out[0] its policy, out[1] its slice in ns (0: the default). */
static jint lm_sched_get(JNIEnv *env, jclass cls, jlongArray out)
{
    (void)cls;
    struct lm_sched_attr attr;
    memset(&attr, 0, sizeof(attr));
    if (syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0) != 0)
        return -errno;
    jlong values[2] = { (jlong)attr.sched_policy, (jlong)attr.sched_runtime };
    (*env)->SetLongArrayRegion(env, out, 0, 2, values);
    return 0;
}

/*
 * Another task's policy and real-time priority, by its tid (restore gives each restored thread its
 * own from outside, just before the release): sched_setscheduler(tid, ...). 0 or -errno.
 */
static jint lm_sched_set_policy_of(JNIEnv *env, jclass cls, jint tid, jint policy, jint priority)
{
    (void)env;
    (void)cls;
    struct sched_param param;
    memset(&param, 0, sizeof(param));
    param.sched_priority = priority;
    if (sched_setscheduler((pid_t)tid, policy, &param) != 0)
        return -errno;
    return 0;
}

/* Another task's nice value, by its tid: setpriority(PRIO_PROCESS, tid, nice). 0 or -errno. */
static jint lm_sched_set_nice_of(JNIEnv *env, jclass cls, jint tid, jint nice)
{
    (void)env;
    (void)cls;
    if (setpriority(PRIO_PROCESS, (id_t)tid, nice) != 0)
        return -errno;
    return 0;
}

static const JNINativeMethod methods[] = {
    { "nativeSetNice", "(I)I", (void *)lm_sched_set_nice },
    { "nativeGetNice", "()I", (void *)lm_sched_get_nice },
    { "nativeSetIdle", "()I", (void *)lm_sched_set_idle },
    { "nativeSetFifo", "(I)I", (void *)lm_sched_set_fifo },
    { "nativeSetSlice", "(J)I", (void *)lm_sched_set_slice },
    { "nativeGet", "([J)I", (void *)lm_sched_get },
    { "nativeSetPolicyOf", "(III)I", (void *)lm_sched_set_policy_of },
    { "nativeSetNiceOf", "(II)I", (void *)lm_sched_set_nice_of },
};

int lm_sched_register(JNIEnv *env)
{
    return lm_register(env, "ThreadScheduling", methods, LM_ARRAY_SIZE(methods));
}
