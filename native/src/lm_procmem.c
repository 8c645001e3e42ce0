/* PLACEHOLDER: to be written. Paired with io.lazymig.jni.ProcessMemory. */
#include "lm_util.h"

int lm_procmem_register(JNIEnv *env)
{
    (void)env; /* nothing to bind yet */
    return 0;
}
