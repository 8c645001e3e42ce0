package io.lazymig.dump;

import io.lazymig.images.IntervalTimer;
import io.lazymig.images.PosixTimer;
import io.lazymig.images.Timers;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The timers of a frozen process: the three interval timers by injected getitimer, and each
 * POSIX timer of /proc/PID/timers with its interval, time left and overrun by injected
 * timer_gettime and timer_getoverrun (as CRIU's parasite does). The times are those left at
 * this moment: restore arms the timers with them, so a timer does not run while the process is
 * frozen or moving, as with CRIU.
 */
final class TimersReader {
    /** CLOCK_THREAD_CPUTIME_ID: the CPU time of the thread that created the timer. */
    private static final int CLOCK_THREAD_CPUTIME_ID = 3;

    private TimersReader() {
    }

    static Timers read(int pid, Injections inj) throws IOException {
        return read(pid, inj, inj.itimer(Syscalls.ITIMER_REAL), inj.itimer(Syscalls.ITIMER_VIRTUAL),
                inj.itimer(Syscalls.ITIMER_PROF));
    }

    /** The same, with the interval timers already asked ({@link TreeInjections}). */
    static Timers read(int pid, Injections inj, IntervalTimer real, IntervalTimer virt, IntervalTimer prof)
            throws IOException {
        List<PosixTimer> posix = new ArrayList<>();
        for (ProcTimers.Entry e : ProcTimers.read(pid)) {
            refuseUnsupported(pid, e);
            long[] times = inj.timerTimes(e.id());
            int overrun = inj.timerOverrun(e.id());
            posix.add(new PosixTimer(e.id(), e.clockId(), e.signo(), e.sigevNotify(), e.sigevValue(), e.notifyTid(),
                    overrun, times[0], times[1], times[2], times[3]));
        }
        return new Timers(real, virt, prof, posix);
    }

    /** Timers on a CPU clock of one thread, or of a process named by its clock id, are refused. */
    static void refuseUnsupported(int pid, ProcTimers.Entry e) throws DumpException {
        if (e.clockId() < 0 || e.clockId() >= PosixTimer.MAX_CLOCKS) {
            throw new DumpException("process " + pid + ": POSIX timer " + e.id() + " runs on the CPU clock of a given "
                    + "process or thread (clock id " + e.clockId() + "): such timers are not supported");
        }
        if (e.clockId() == CLOCK_THREAD_CPUTIME_ID) {
            throw new DumpException("process " + pid + ": POSIX timer " + e.id() + " runs on CLOCK_THREAD_CPUTIME_ID "
                    + "of the thread that created it, which /proc does not tell: such timers are not supported");
        }
    }
}
