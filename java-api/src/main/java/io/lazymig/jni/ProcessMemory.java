package io.lazymig.jni;

/** PLACEHOLDER: to be written. */
public final class ProcessMemory {
    static {
        NativeLibrary.load();
    }

    private ProcessMemory() {
    }
}
