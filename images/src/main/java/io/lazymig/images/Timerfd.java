package io.lazymig.images;

/**
 * A timerfd: its clock, the flags it was last set with (TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET),
 * the time left until it fires ({@code value*}, as fdinfo prints it: relative even for an ABSTIME
 * timer; 0 is disarmed), its interval, the expirations not read yet ({@code ticks}) and its file
 * status flags. {@code readSec}/{@code readNsec} are the timer's clock when the time left was read
 * and {@code bootId} the boot of that clock ("" when unknown), so that an ABSTIME timer can keep its
 * absolute expiry: see {@link #absoluteExpiryKept(String)}.
 */
public record Timerfd(int id, int flags, int clockId, long ticks, int settimeFlags, long valueSec, long valueNsec,
        long intervalSec, long intervalNsec, long readSec, long readNsec, String bootId) implements FileObject {
    public static final int CLOCK_REALTIME = 0;
    public static final int CLOCK_MONOTONIC = 1;
    public static final int CLOCK_BOOTTIME = 7;
    public static final int CLOCK_REALTIME_ALARM = 8;
    public static final int CLOCK_BOOTTIME_ALARM = 9;
    /** timerfd_settime's flags (linux/timerfd.h). */
    public static final int TFD_TIMER_ABSTIME = 1;
    public static final int TFD_TIMER_CANCEL_ON_SET = 2;
    private static final long NSEC = 1_000_000_000L;

    /**
     * A periodic timer that expired and waits for a read to go on (the kernel forwards it by its interval
     * only when the expirations are read, or timerfd_gettime is called, so until then fdinfo shows no time
     * left, the interval and the expirations not read) is held as armed one interval ahead: what its read
     * would do, with its phase unknown. Written so, CRIU restores it running too; as fdinfo shows it (no
     * time left, which CRIU writes), CRIU restores it disarmed and the process's timer stops after one read.
     */
    public Timerfd {
        FileObject.checkId(id);
        if (valueSec == 0 && valueNsec == 0 && (intervalSec != 0 || intervalNsec != 0) && ticks != 0) {
            valueSec = intervalSec;
            valueNsec = intervalNsec;
        }
        if (clockId != CLOCK_REALTIME && clockId != CLOCK_MONOTONIC && clockId != CLOCK_BOOTTIME
                && clockId != CLOCK_REALTIME_ALARM && clockId != CLOCK_BOOTTIME_ALARM) {
            throw new IllegalArgumentException("timerfd id " + id + ": clock " + clockId
                    + " is not one a timerfd takes (0, 1, 7, 8, 9)");
        }
        if ((settimeFlags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) != 0) {
            throw new IllegalArgumentException("timerfd id " + id + ": settime flags 0x" + Integer.toHexString(settimeFlags)
                    + " (only TFD_TIMER_ABSTIME 1 and TFD_TIMER_CANCEL_ON_SET 2 exist)");
        }
        checkTime(id, "time left", valueSec, valueNsec);
        checkTime(id, "interval", intervalSec, intervalNsec);
        checkTime(id, "clock reading", readSec, readNsec);
        if (bootId == null || bootId.length() > 64) {
            throw new IllegalArgumentException("timerfd id " + id + ": boot id " + bootId);
        }
    }

    private static void checkTime(int id, String what, long sec, long nsec) {
        if (sec < 0 || nsec < 0 || nsec >= NSEC) {
            throw new IllegalArgumentException("timerfd id " + id + ": " + what + " " + sec + " s " + nsec + " ns");
        }
    }

    public boolean isArmed() {
        return valueSec != 0 || valueNsec != 0;
    }

    public boolean isAbsolute() {
        return (settimeFlags & TFD_TIMER_ABSTIME) != 0;
    }

    /**
     * Whether an ABSTIME timer can be set again for the absolute time it had, on a host whose boot
     * id is {@code hereBootId}: the realtime clocks are one clock on every host (as far as the hosts
     * keep time); CLOCK_MONOTONIC and CLOCK_BOOTTIME count from the boot of their host, so an absolute
     * time on them means the same moment only on the same boot (a migration on one host, or between
     * the network namespaces of one kernel). Otherwise the timer gets the time it had left, from now.
     */
    public boolean absoluteExpiryKept(String hereBootId) {
        if (!isAbsolute() || !isArmed()) {
            return false;
        }
        if (clockId == CLOCK_REALTIME || clockId == CLOCK_REALTIME_ALARM) {
            return true;
        }
        return !bootId.isEmpty() && bootId.equals(hereBootId);
    }

    /** The absolute expiry on the timer's clock (the clock reading at dump plus the time left), in ns. */
    public long absoluteExpiryNanos() {
        return Math.addExact(Math.multiplyExact(Math.addExact(readSec, valueSec), NSEC), readNsec + valueNsec);
    }

    @Override
    public String describe() {
        return "timerfd (clock " + clockId + (isArmed() ? ", armed" : ", disarmed") + ")";
    }
}
