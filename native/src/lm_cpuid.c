/* The CPUID instruction and XCR0 (the user state components the kernel enabled), paired with io.lazymig.jni.Cpuid. */
#include "lm_util.h"

#include <cpuid.h>
#include <stdint.h>

/* CPUID.1:ECX bit 27: the OS set CR4.OSXSAVE, so XGETBV may run (it raises #UD otherwise). */
#define LM_CPUID_OSXSAVE (1U << 27)

/*
 * CPUID(leaf, subleaf) into out[0..3] = EAX, EBX, ECX, EDX. Returns 0, or -EINVAL when the leaf
 * is above the maximum of its range (basic 0x0..., extended 0x80000000...) or out is not 4 ints.
 */
static jint lm_cpuid_query(JNIEnv *env, jclass cls, jint leaf, jint subleaf, jintArray out)
{
    (void)cls;
    unsigned int r[4] = { 0, 0, 0, 0 };
    if ((*env)->GetArrayLength(env, out) != 4)
        return -EINVAL;
    if (!__get_cpuid_count((unsigned int)leaf, (unsigned int)subleaf, &r[0], &r[1], &r[2], &r[3]))
        return -EINVAL;
    jint values[4] = { (jint)r[0], (jint)r[1], (jint)r[2], (jint)r[3] };
    (*env)->SetIntArrayRegion(env, out, 0, 4, values);
    return 0;
}

/* XCR0 (xgetbv(0)): bit i set when the kernel enabled state component i; 0 when OSXSAVE is clear. */
static jlong lm_cpuid_xfeatures(JNIEnv *env, jclass cls)
{
    (void)env;
    (void)cls;
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & LM_CPUID_OSXSAVE))
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (jlong)(((uint64_t)hi << 32) | lo);
}

static const JNINativeMethod methods[] = {
    { "nativeQuery", "(II[I)I", (void *)lm_cpuid_query },
    { "nativeXfeatures", "()J", (void *)lm_cpuid_xfeatures },
};

int lm_cpuid_register(JNIEnv *env)
{
    return lm_register(env, "Cpuid", methods, LM_ARRAY_SIZE(methods));
}
