package io.lazymig.jni;

/** PLACEHOLDER: to be written. */
public final class UnixSocket {
    static {
        NativeLibrary.load();
    }

    private UnixSocket() {
    }
}
