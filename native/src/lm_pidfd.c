/* PLACEHOLDER: to be written. Paired with io.lazymig.jni.Pidfd. */
#include "lm_util.h"

int lm_pidfd_register(JNIEnv *env)
{
    (void)env; /* nothing to bind yet */
    return 0;
}
