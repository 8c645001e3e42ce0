package io.lazymig.jni;

/** PLACEHOLDER: to be written. */
public final class Poll {
    static {
        NativeLibrary.load();
    }

    private Poll() {
    }
}
