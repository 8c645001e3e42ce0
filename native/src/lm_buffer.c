/* Direct-buffer addresses, paired with io.lazymig.jni.Buffers. */
#include "lm_util.h"

static jlong lm_buffer_address(JNIEnv *env, jclass cls, jobject buf)
{
    (void)cls;
    return (jlong)(intptr_t)(*env)->GetDirectBufferAddress(env, buf);
}

static const JNINativeMethod methods[] = {
    { "nativeAddress", "(Ljava/nio/ByteBuffer;)J", (void *)lm_buffer_address },
};

int lm_buffer_register(JNIEnv *env)
{
    return lm_register(env, "Buffers", methods, LM_ARRAY_SIZE(methods));
}
