/* PLACEHOLDER: to be written. Paired with io.lazymig.jni.Ptrace. */
#include "lm_util.h"

int lm_ptrace_register(JNIEnv *env)
{
    (void)env; /* nothing to bind yet */
    return 0;
}
