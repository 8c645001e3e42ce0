package io.lazymig.dump;

import io.lazymig.images.Timerfd;
import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A timerfd from its fdinfo: "clockid: N", "ticks: N", "settime flags: OCTAL", "it_value: (S, NS)"
 * (the time left, relative even for an ABSTIME timer) and "it_interval: (S, NS)"; then the timer's
 * clock is read, so that the absolute expiry of an ABSTIME timer is known (the reading plus the
 * time left), with the boot it belongs to.
 */
final class TimerfdReader {
    private static final Pattern TIME = Pattern.compile("\\(\\s*(\\d+),\\s*(\\d+)\\s*\\)");

    /** The clock of a timer, read right after its fdinfo: nanoseconds. */
    interface ClockSource {
        long nanos(int clockId) throws IOException;
    }

    private TimerfdReader() {
    }

    static Timerfd read(int id, int flags, FdInfoLines info, ClockSource clock, String bootId) throws IOException {
        int clockId = (int) info.decimal(info.value("clockid"));
        long ticks = Long.parseUnsignedLong(info.value("ticks"));
        int settime;
        try {
            settime = Integer.parseInt(info.value("settime flags"), 8);
        } catch (NumberFormatException e) {
            throw info.error("settime flags are not octal");
        }
        long[] value = time(info, "it_value");
        long[] interval = time(info, "it_interval");
        long now = clock.nanos(clockId);
        try {
            return new Timerfd(id, flags, clockId, ticks, settime, value[0], value[1], interval[0], interval[1],
                    now / 1_000_000_000L, now % 1_000_000_000L, bootId);
        } catch (IllegalArgumentException e) {
            throw info.error(e.getMessage());
        }
    }

    private static long[] time(FdInfoLines info, String key) throws IOException {
        Matcher m = TIME.matcher(info.value(key));
        if (!m.matches()) {
            throw info.error(key + " is not (SEC, NSEC)");
        }
        return new long[] {info.decimal(m.group(1)), info.decimal(m.group(2))};
    }
}
