package io.lazymig.restore;

import io.lazymig.images.IntervalTimer;
import io.lazymig.images.PosixTimer;
import io.lazymig.images.Timers;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The timers armed, last of the injected state, just before the registers are set and the
 * process resumes: the interval timers by setitimer, each POSIX timer by timer_settime, with the
 * interval and the time left that dump read, and the timerfds ({@link TimerfdArming}). A timer therefore does not run while the process is
 * frozen, moving or being restored: it goes on from where it was at the freeze, as with CRIU.
 * Every signal is blocked in the leader first (PTRACE_SETSIGMASK; {@link RegistersStep} sets its
 * own mask back): a timer that fires now leaves its signal pending instead of turning the next
 * injection into a signal-delivery stop; the other threads are in their ptrace stops, where no
 * signal is delivered. Each thread takes what is pending when it leaves its stop at the detach.
 */
final class ArmTimersStep implements RestoreStep {
    /** struct itimerval and struct itimerspec: interval then value, two longs each. */
    private static final int TIMES_SIZE = 32;

    @Override
    public String name() {
        return "arm timers";
    }

    @Override
    public void run(Restoring r) throws IOException {
        Timers t = r.process.state().timers();
        // Not Timers.equals: a record's equals is bootstrapped on its first call, ~40 ms in a cold JVM.
        if (!t.posix().isEmpty() || t.real().forRestore().isArmed() || t.virt().forRestore().isArmed()
                || t.prof().forRestore().isArmed()) {
            Ptrace.setSigmask(r.pid, -1L);
            arm(r.stub, t);
        }
        TimerfdArming.armAll(r.stub, r.checkpoint, r.process.fds());
    }

    static void arm(Injector in, Timers t) throws IOException {
        setitimer(in, Syscalls.ITIMER_REAL, t.real().forRestore());
        setitimer(in, Syscalls.ITIMER_VIRTUAL, t.virt().forRestore());
        setitimer(in, Syscalls.ITIMER_PROF, t.prof().forRestore());
        for (PosixTimer p : t.posix()) {
            if (!p.isArmed()) {
                continue;
            }
            in.resetScratch();
            long at = in.put(times(p.intervalSec(), p.intervalNsec(), p.valueSec(), p.valueNsec()));
            in.call("timer_settime", Syscalls.TIMER_SETTIME, p.id(), 0, at, 0);
        }
    }

    private static void setitimer(Injector in, int which, IntervalTimer t) throws IOException {
        if (!t.isArmed()) {
            return;
        }
        in.resetScratch();
        long at = in.put(times(t.intervalSec(), t.intervalUsec(), t.valueSec(), t.valueUsec()));
        in.call("setitimer", Syscalls.SETITIMER, which, at, 0);
    }

    private static ByteBuffer times(long intervalSec, long intervalFrac, long valueSec, long valueFrac) {
        return Stub.struct(TIMES_SIZE).putLong(0, intervalSec).putLong(8, intervalFrac).putLong(16, valueSec)
                .putLong(24, valueFrac);
    }
}
