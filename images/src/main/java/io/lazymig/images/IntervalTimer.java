package io.lazymig.images;

/**
 * One interval timer of a process (setitimer: ITIMER_REAL, ITIMER_VIRTUAL or ITIMER_PROF) as
 * getitimer read it: the interval and the time left until it next fires, in seconds and
 * microseconds (CRIU's itimer_entry). {@link #DISARMED} when it is not running.
 */
public record IntervalTimer(long intervalSec, long intervalUsec, long valueSec, long valueUsec) {
    public static final IntervalTimer DISARMED = new IntervalTimer(0, 0, 0, 0);
    private static final long USEC_PER_SEC = 1_000_000;

    public IntervalTimer {
        if (intervalSec < 0 || valueSec < 0 || intervalUsec < 0 || intervalUsec >= USEC_PER_SEC || valueUsec < 0
                || valueUsec >= USEC_PER_SEC) {
            throw new IllegalArgumentException("bad itimer: interval " + intervalSec + " s " + intervalUsec
                    + " us, value " + valueSec + " s " + valueUsec + " us");
        }
    }

    public boolean isArmed() {
        return valueSec != 0 || valueUsec != 0;
    }

    /**
     * The value to arm it with at restore: the time left as read at dump (the timer does not run
     * while the process is frozen or moving, as with CRIU); a periodic timer read with nothing
     * left (it was firing as it was read) is armed with its interval, as CRIU does.
     */
    public IntervalTimer forRestore() {
        if (!isArmed() && (intervalSec != 0 || intervalUsec != 0)) {
            return new IntervalTimer(intervalSec, intervalUsec, intervalSec, intervalUsec);
        }
        return this;
    }
}
