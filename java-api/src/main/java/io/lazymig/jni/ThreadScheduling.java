package io.lazymig.jni;

/**
 * The calling thread's scheduling, paired with {@code lm_sched.c}: on Linux each thread has its
 * own nice value, policy and time slice. Only SCHED_FIFO and lowering the nice value need a
 * privilege (CAP_SYS_NICE); all of it matters only where the CPUs are contended.
 */
public final class ThreadScheduling {
    /** Linux's SCHED_OTHER (the default policy). */
    public static final int SCHED_OTHER = 0;
    /** Linux's SCHED_FIFO (real-time, first in first out at a priority). */
    public static final int SCHED_FIFO = 1;
    /** Linux's SCHED_IDLE: runs only when nothing else wants the CPU (or after everything else). */
    public static final int SCHED_IDLE = 5;

    static {
        NativeLibrary.load();
    }

    private ThreadScheduling() {
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

    /**
     * Puts the calling thread under SCHED_IDLE: a thread of any other policy that wakes on its CPU
     * preempts it at once. The thread still runs when a CPU has nothing else to do.
     */
    public static void setIdle() throws NativeException {
        NativeException.check("sched_setscheduler(thread, SCHED_IDLE)", nativeSetIdle());
    }

    /**
     * Puts the calling thread under SCHED_FIFO at {@code priority} (1..99): waking, it preempts any
     * SCHED_OTHER thread on its CPU at once. Threads and processes it starts afterwards are
     * SCHED_OTHER (SCHED_RESET_ON_FORK). Needs CAP_SYS_NICE (or an RLIMIT_RTPRIO allowance).
     */
    public static void setFifo(int priority) throws NativeException {
        NativeException.check("sched_setscheduler(thread, SCHED_FIFO " + priority + ")", nativeSetFifo(priority));
    }

    /**
     * Gives the calling thread a time slice of its own (SCHED_OTHER, Linux 6.12's
     * {@code sched_attr.sched_runtime}; the kernel clamps it to 0.1..100 ms): waking, a thread
     * with a shorter slice than the running one's preempts it instead of waiting for its slice
     * to end. Its nice value is kept; 0 gives back the kernel's default slice. Either way the
     * thread is SCHED_OTHER afterwards (also coming from SCHED_IDLE).
     */
    public static void setSlice(long nanos) throws NativeException {
        NativeException.check("sched_setattr(thread, slice " + nanos + " ns)", nativeSetSlice(nanos));
    }

    /**
     * Task {@code tid}'s policy and real-time priority (sched_setscheduler(tid, ...)): restore gives
     * a restored thread its own from outside. Needs CAP_SYS_NICE for another user's task, a
     * real-time policy or a lower nice.
     */
    public static void setPolicyOf(int tid, int policy, int priority) throws NativeException {
        NativeException.check("sched_setscheduler(" + tid + ", " + policy + ", " + priority + ")",
                nativeSetPolicyOf(tid, policy, priority));
    }

    /** Task {@code tid}'s nice value (setpriority(PRIO_PROCESS, tid, nice)), as {@link #setPolicyOf}. */
    public static void setNiceOf(int tid, int nice) throws NativeException {
        NativeException.check("setpriority(" + tid + ", " + nice + ")", nativeSetNiceOf(tid, nice));
    }

    /** The calling thread's policy ({@link #SCHED_OTHER}, {@link #SCHED_IDLE}, ...). */
    public static int policy() throws NativeException {
        return (int) attributes()[0];
    }

    /** The calling thread's own time slice in ns, 0 when it has the kernel's default. */
    public static long slice() throws NativeException {
        return attributes()[1];
    }

    private static long[] attributes() throws NativeException {
        long[] out = new long[2];
        NativeException.check("sched_getattr(thread)", nativeGet(out));
        return out;
    }

    private static native int nativeSetNice(int nice);

    private static native int nativeGetNice();

    private static native int nativeSetIdle();

    private static native int nativeSetFifo(int priority);

    private static native int nativeSetSlice(long nanos);

    private static native int nativeGet(long[] out);

    private static native int nativeSetPolicyOf(int tid, int policy, int priority);

    private static native int nativeSetNiceOf(int tid, int nice);
}
