package io.lazymig.jni;

/** PLACEHOLDER: to be written. */
public final class Pidfd {
    static {
        NativeLibrary.load();
    }

    private Pidfd() {
    }
}
