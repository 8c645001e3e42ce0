package io.lazymig.jni;

/** PLACEHOLDER: to be written. */
public final class Userfaultfd {
    static {
        NativeLibrary.load();
    }

    private Userfaultfd() {
    }
}
