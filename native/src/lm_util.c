/* Shared helpers of the shim: constant lookup and native registration. */
#include "lm_util.h"

#include <stdio.h>
#include <string.h>

jlong lm_constant_lookup(JNIEnv *env, const struct lm_constant *table, size_t n, jstring name)
{
    const char *cname = (*env)->GetStringUTFChars(env, name, NULL);
    if (cname == NULL)
        return 0; /* OutOfMemoryError pending */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, cname) == 0) {
            jlong v = table[i].value;
            (*env)->ReleaseStringUTFChars(env, name, cname);
            return v;
        }
    }
    jclass err = (*env)->FindClass(env, "java/lang/NoSuchFieldError");
    if (err != NULL)
        (*env)->ThrowNew(env, err, cname);
    (*env)->ReleaseStringUTFChars(env, name, cname);
    return 0;
}

/*
 * The class for `simple_name`, loaded but NOT initialised. JNI FindClass would run the class's
 * static initialiser, which reads constants through natives not yet registered; so go through
 * Class.forName(name, false, loader of NativeLibrary) instead.
 */
static jclass lm_class_uninitialised(JNIEnv *env, const char *simple_name)
{
    char dotted[160];
    snprintf(dotted, sizeof(dotted), "io.lazymig.jni.%s", simple_name);
    jclass class_cls = (*env)->FindClass(env, "java/lang/Class");
    jclass anchor = (*env)->FindClass(env, LM_PACKAGE "NativeLibrary"); /* being initialised by us */
    if (class_cls == NULL || anchor == NULL)
        return NULL;
    jmethodID get_loader = (*env)->GetMethodID(env, class_cls, "getClassLoader", "()Ljava/lang/ClassLoader;");
    jmethodID for_name = (*env)->GetStaticMethodID(env, class_cls, "forName",
                                                   "(Ljava/lang/String;ZLjava/lang/ClassLoader;)Ljava/lang/Class;");
    if (get_loader == NULL || for_name == NULL)
        return NULL;
    jobject loader = (*env)->CallObjectMethod(env, anchor, get_loader);
    if ((*env)->ExceptionCheck(env))
        return NULL;
    jstring jname = (*env)->NewStringUTF(env, dotted);
    if (jname == NULL)
        return NULL;
    jclass cls = (jclass)(*env)->CallStaticObjectMethod(env, class_cls, for_name, jname, JNI_FALSE, loader);
    (*env)->DeleteLocalRef(env, jname);
    (*env)->DeleteLocalRef(env, loader);
    (*env)->DeleteLocalRef(env, anchor);
    (*env)->DeleteLocalRef(env, class_cls);
    return (*env)->ExceptionCheck(env) ? NULL : cls;
}

int lm_register(JNIEnv *env, const char *simple_name, const JNINativeMethod *methods, size_t n)
{
    jclass cls = lm_class_uninitialised(env, simple_name);
    if (cls == NULL)
        return -1;
    jint rc = (*env)->RegisterNatives(env, cls, methods, (jint)n);
    (*env)->DeleteLocalRef(env, cls);
    return rc == 0 ? 0 : -1;
}

void lm_unregister(JNIEnv *env, const char *simple_name)
{
    jclass cls = lm_class_uninitialised(env, simple_name);
    if (cls == NULL) {
        (*env)->ExceptionClear(env);
        return;
    }
    (*env)->UnregisterNatives(env, cls);
    (*env)->DeleteLocalRef(env, cls);
}
