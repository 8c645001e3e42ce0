/* PLACEHOLDER: to be written. Paired with io.lazymig.jni.Poll. */
#include "lm_util.h"

int lm_poll_register(JNIEnv *env)
{
    (void)env; /* nothing to bind yet */
    return 0;
}
