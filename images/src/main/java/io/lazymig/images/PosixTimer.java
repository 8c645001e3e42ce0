package io.lazymig.images;

/**
 * One POSIX timer of a process (timer_create), CRIU's posix_timer_entry: its id (what
 * timer_create returned, which the program keeps), clock, how it notifies (signal number,
 * SIGEV_* and, for SIGEV_THREAD_ID, the thread), the sigev value the signal carries, the overrun
 * count at dump, and the interval and time left (timer_gettime) in seconds and nanoseconds.
 */
public record PosixTimer(int id, int clockId, int signo, int sigevNotify, long sigevValue, int notifyTid, int overrun,
        long intervalSec, long intervalNsec, long valueSec, long valueNsec) {
    public static final int SIGEV_SIGNAL = 0;
    public static final int SIGEV_NONE = 1;
    public static final int SIGEV_THREAD = 2;
    public static final int SIGEV_THREAD_ID = 4;
    /** MAX_CLOCKS: the kernel's fixed clock ids are below it (the dynamic, negative ones are not kept). */
    public static final int MAX_CLOCKS = 16;
    private static final long NSEC_PER_SEC = 1_000_000_000;

    public PosixTimer {
        if (id < 0) {
            throw new IllegalArgumentException("bad POSIX timer id " + id);
        }
        String what = "POSIX timer " + id + ": ";
        if (clockId < 0 || clockId >= MAX_CLOCKS) {
            throw new IllegalArgumentException(what + "clock id " + clockId + " is not a fixed clock (0.."
                    + (MAX_CLOCKS - 1) + ")");
        }
        if (sigevNotify != SIGEV_SIGNAL && sigevNotify != SIGEV_NONE && sigevNotify != SIGEV_THREAD
                && sigevNotify != (SIGEV_SIGNAL | SIGEV_THREAD_ID)) {
            throw new IllegalArgumentException(what + "sigev_notify " + sigevNotify + " is not one the kernel accepts");
        }
        if (sigevNotify != SIGEV_NONE && (signo < 1 || signo > SigAction.SIGMAX)) {
            throw new IllegalArgumentException(what + "signal " + signo + " outside 1.." + SigAction.SIGMAX);
        }
        if (signo < 0 || signo > SigAction.SIGMAX) {
            throw new IllegalArgumentException(what + "signal " + signo + " outside 0.." + SigAction.SIGMAX);
        }
        if (((sigevNotify & SIGEV_THREAD_ID) != 0) != (notifyTid > 0) || notifyTid < 0) {
            throw new IllegalArgumentException(what + "thread " + notifyTid + " does not fit sigev_notify " + sigevNotify
                    + " (SIGEV_THREAD_ID needs a thread, the others none)");
        }
        if (overrun < 0) {
            throw new IllegalArgumentException(what + "overrun " + overrun);
        }
        if (intervalSec < 0 || valueSec < 0 || intervalNsec < 0 || intervalNsec >= NSEC_PER_SEC || valueNsec < 0
                || valueNsec >= NSEC_PER_SEC) {
            throw new IllegalArgumentException(what + "bad times: interval " + intervalSec + " s " + intervalNsec
                    + " ns, value " + valueSec + " s " + valueNsec + " ns");
        }
    }

    public boolean isArmed() {
        return valueSec != 0 || valueNsec != 0;
    }

    /** Whether the signal goes to one thread (SIGEV_THREAD_ID) rather than the process. */
    public boolean isThreadTargeted() {
        return (sigevNotify & SIGEV_THREAD_ID) != 0;
    }
}
