package io.lazymig.images;

import io.lazymig.images.proto.itimer_entry;
import io.lazymig.images.proto.posix_timer_entry;
import io.lazymig.images.proto.task_core_entry;
import io.lazymig.images.proto.task_timers_entry;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link Timers} ↔ the timers field of core-PID.img's tc (CRIU's task_timers_entry: real, virt
 * and prof itimer_entry, then one posix_timer_entry per POSIX timer). A tc without timers (CRIU
 * kept them in separate images before 1.3) reads as no timers.
 */
final class TimersCodec {
    private TimersCodec() {
    }

    static task_timers_entry encode(Timers t) {
        task_timers_entry.Builder b = task_timers_entry.newBuilder().setReal(encode(t.real())).setVirt(encode(t.virt()))
                .setProf(encode(t.prof()));
        for (PosixTimer p : t.posix()) {
            posix_timer_entry.Builder e = posix_timer_entry.newBuilder().setItId(p.id()).setClockId(p.clockId())
                    .setSiSigno(p.signo()).setItSigevNotify(p.sigevNotify()).setSivalPtr(p.sigevValue())
                    .setOverrun(p.overrun()).setIsec(p.intervalSec()).setInsec(p.intervalNsec())
                    .setVsec(p.valueSec()).setVnsec(p.valueNsec());
            if (p.isThreadTargeted()) {
                e.setNotifyThreadId(p.notifyTid());
            }
            b.addPosix(e);
        }
        return b.build();
    }

    private static itimer_entry encode(IntervalTimer t) {
        return itimer_entry.newBuilder().setIsec(t.intervalSec()).setIusec(t.intervalUsec()).setVsec(t.valueSec())
                .setVusec(t.valueUsec()).build();
    }

    /** The timers of {@code tc}; a value the model cannot hold is an IllegalArgumentException naming the timer. */
    static Timers decode(task_core_entry tc) {
        if (!tc.hasTimers()) {
            return Timers.NONE;
        }
        task_timers_entry t = tc.getTimers();
        List<PosixTimer> posix = new ArrayList<>();
        for (posix_timer_entry e : t.getPosixList()) {
            posix.add(new PosixTimer(e.getItId(), e.getClockId(), e.getSiSigno(), e.getItSigevNotify(), e.getSivalPtr(),
                    e.hasNotifyThreadId() && (e.getItSigevNotify() & PosixTimer.SIGEV_THREAD_ID) != 0
                    ? e.getNotifyThreadId() : 0, e.getOverrun(), e.getIsec(), e.getInsec(),
                    e.getVsec(), e.getVnsec()));
        }
        return new Timers(decode("real", t.getReal()), decode("virt", t.getVirt()), decode("prof", t.getProf()), posix);
    }

    private static IntervalTimer decode(String which, itimer_entry e) {
        try {
            return new IntervalTimer(e.getIsec(), e.getIusec(), e.getVsec(), e.getVusec());
        } catch (IllegalArgumentException x) {
            throw new IllegalArgumentException("itimer " + which + ": " + x.getMessage(), x);
        }
    }
}
