/* The calling thread's scheduling weight (its nice value), paired with io.lazymig.jni.ThreadNice. */
#include "lm_util.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* setpriority(PRIO_PROCESS, gettid(), nice): on Linux a thread id names that thread alone. 0 or -errno. */
static jint lm_sched_set_nice(JNIEnv *env, jclass cls, jint nice)
{
    (void)env;
    (void)cls;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (setpriority(PRIO_PROCESS, (id_t)tid, nice) != 0)
        return -errno;
    return 0;
}

/* The calling thread's nice value (getpriority, errno cleared first: -1 is a valid nice). */
static jint lm_sched_get_nice(JNIEnv *env, jclass cls)
{
    (void)env;
    (void)cls;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    errno = 0;
    int n = getpriority(PRIO_PROCESS, (id_t)tid);
    if (n == -1 && errno != 0)
        return -1000 - errno;
    return n;
}

static const JNINativeMethod methods[] = {
    { "nativeSetNice", "(I)I", (void *)lm_sched_set_nice },
    { "nativeGetNice", "()I", (void *)lm_sched_get_nice },
};

int lm_sched_register(JNIEnv *env)
{
    return lm_register(env, "ThreadNice", methods, LM_ARRAY_SIZE(methods));
}
