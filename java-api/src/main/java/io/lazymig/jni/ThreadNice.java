package io.lazymig.jni;

/**
 * The calling thread's nice value, paired with {@code lm_sched.c}: on Linux each thread has its
 * own (setpriority with its thread id). Raising it needs no privilege; it only matters when the
 * CPUs are contended, where the scheduler then runs the threads with the lower value first.
 */
public final class ThreadNice {
    static {
        NativeLibrary.load();
    }

    private ThreadNice() {
    }

    /** Sets the calling thread's nice value (-20..19; lowering it needs CAP_SYS_NICE). */
    public static void set(int nice) throws NativeException {
        NativeException.check("setpriority(thread, " + nice + ")", nativeSetNice(nice));
    }

    /** The calling thread's nice value. */
    public static int get() throws NativeException {
        int n = nativeGetNice();
        if (n <= -1000) {
            NativeException.check("getpriority(thread)", n + 1000);
        }
        return n;
    }

    private static native int nativeSetNice(int nice);

    private static native int nativeGetNice();
}
