/* PLACEHOLDER: to be written. Paired with io.lazymig.jni.UnixSocket. */
#include "lm_util.h"

int lm_unixsocket_register(JNIEnv *env)
{
    (void)env; /* nothing to bind yet */
    return 0;
}
