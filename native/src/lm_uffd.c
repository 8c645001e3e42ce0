/* PLACEHOLDER: to be written. Paired with io.lazymig.jni.Userfaultfd. */
#include "lm_util.h"

int lm_uffd_register(JNIEnv *env)
{
    (void)env; /* nothing to bind yet */
    return 0;
}
