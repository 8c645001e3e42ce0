package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.FdSlot;
import io.lazymig.images.Timerfd;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The timerfds armed, with the process's other timers, just before it resumes. A relative timer
 * gets the time it had left at dump (the frozen time does not count, as with CRIU); an ABSTIME timer
 * keeps its absolute expiry where the clock allows ({@link Timerfd#absoluteExpiryKept}: a realtime
 * clock, or CLOCK_MONOTONIC/BOOTTIME on the same boot), else it too gets the time it had left, from
 * the clock read in the process now. An expiry already passed fires at once, the missed intervals
 * counted as ticks by the kernel. A periodic timer that had expired and waited for its read goes on one
 * interval from now ({@link Timerfd} holds it so). Then the expirations not read at dump are put back
 * (TFD_IOC_SET_TICKS; timerfd_settime clears them).
 */
final class TimerfdArming {
    private static final long NSEC = 1_000_000_000L;
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

    private TimerfdArming() {
    }

    static void armAll(Injector in, Checkpoint cp, List<FdSlot> slots) throws IOException {
        Set<Integer> done = new HashSet<>();
        String bootId = null;
        for (FdSlot s : slots) {
            if (cp.file(s.fileId()) instanceof Timerfd t && done.add(t.id())) {
                if (bootId == null) {
                    bootId = Files.isReadable(BOOT_ID) ? Files.readString(BOOT_ID).trim() : "";
                }
                arm(in, s.fd(), t, bootId);
            }
        }
    }

    static void arm(Injector in, int fd, Timerfd t, String hereBootId) throws IOException {
        if (t.isArmed()) {
            long left = t.valueSec() * NSEC + t.valueNsec();
            long value;
            if (t.absoluteExpiryKept(hereBootId)) {
                value = t.absoluteExpiryNanos();
            } else if (t.isAbsolute()) {
                value = now(in, t.clockId()) + left;
            } else {
                value = left;
            }
            in.resetScratch();
            long at = in.put(Stub.struct(32).putLong(0, t.intervalSec()).putLong(8, t.intervalNsec())
                    .putLong(16, value / NSEC).putLong(24, value % NSEC));
            in.call("timerfd_settime for fd " + fd, Syscalls.TIMERFD_SETTIME, fd, t.settimeFlags(), at, 0);
        }
        if (t.ticks() != 0) {
            in.resetScratch();
            long at = in.put(Stub.struct(8).putLong(0, t.ticks()));
            in.call("ioctl(TFD_IOC_SET_TICKS) for fd " + fd, Syscalls.IOCTL, fd, Syscalls.TFD_IOC_SET_TICKS, at);
        }
    }

    /** The clock's time in the restored process, in ns. */
    private static long now(Injector in, int clockId) throws IOException {
        in.resetScratch();
        ByteBuffer ts = Stub.struct(16);
        long at = in.put(ts);
        in.call("clock_gettime(" + clockId + ")", Syscalls.CLOCK_GETTIME, clockId, at);
        in.read(at, ts);
        return ts.getLong(0) * NSEC + ts.getLong(8);
    }
}
