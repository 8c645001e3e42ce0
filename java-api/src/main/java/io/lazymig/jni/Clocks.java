package io.lazymig.jni;

/**
 * clock_gettime on any clock (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, ...), paired with
 * {@code lm_clock.c}: Java reads only the realtime and monotonic clocks, and not by their ids.
 */
public final class Clocks {
    static {
        NativeLibrary.load();
    }

    private Clocks() {
    }

    /** The clock's time in nanoseconds; an unknown clock is an EINVAL NativeException. */
    public static long nanos(int clockId) throws NativeException {
        return NativeException.check("clock_gettime(" + clockId + ")", nativeGettime(clockId));
    }

    private static native long nativeGettime(int clockId);
}
