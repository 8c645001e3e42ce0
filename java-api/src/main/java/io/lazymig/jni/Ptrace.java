package io.lazymig.jni;

/** PLACEHOLDER: to be written. */
public final class Ptrace {
    static {
        NativeLibrary.load();
    }

    private Ptrace() {
    }
}
