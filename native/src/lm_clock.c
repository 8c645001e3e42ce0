/* clock_gettime on any clock, paired with io.lazymig.jni.Clocks. */
#include "lm_util.h"

#include <time.h>

/* clock_gettime(clockid) in nanoseconds (the clocks a timerfd takes never read negative), or -errno. */
static jlong lm_clock_gettime(JNIEnv *env, jclass cls, jint clockid)
{
    (void)env;
    (void)cls;
    struct timespec ts;
    if (clock_gettime((clockid_t)clockid, &ts) != 0)
        return -(jlong)errno;
    return (jlong)ts.tv_sec * 1000000000LL + (jlong)ts.tv_nsec;
}

static const JNINativeMethod methods[] = {
    { "nativeGettime", "(I)J", (void *)lm_clock_gettime },
};

int lm_clock_register(JNIEnv *env)
{
    return lm_register(env, "Clocks", methods, LM_ARRAY_SIZE(methods));
}
