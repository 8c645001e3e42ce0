package io.lazymig.restore;

import io.lazymig.images.PosixTimer;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The POSIX timers of the process, created disarmed with the ids the program holds, by
 * timer_create injected into the leader (they are process-wide; a SIGEV_THREAD_ID timer names its
 * thread, which {@link ThreadStep} has made). On Linux ≥ 6.17 prctl(PR_TIMER_CREATE_RESTORE_IDS)
 * makes timer_create take the id from *timerid, as CRIU does it; the prctl is switched off again
 * at once, or the program's own timer_create would read its *timerid. On an older kernel
 * (EINVAL) the timers are created in id order, ids the kernel hands out on the way deleted
 * again, as the kernel counts ids up from 0 in a new process; an id already passed cannot be
 * reproduced and is refused. The prctl needs CAP_CHECKPOINT_RESTORE: before the credentials
 * are dropped. {@link ArmTimersStep} arms them at the end.
 */
final class TimersStep implements RestoreStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");
    /** struct sigevent on x86_64: sigev_value, sigev_signo, sigev_notify, then the union (_tid first). */
    static final int SIGEVENT_SIZE = 64;
    /** How many ids the fallback skips, at most, before it gives up on one. */
    static final int MAX_SKIPPED_IDS = 65536;

    @Override
    public String name() {
        return "timers";
    }

    @Override
    public void run(Restoring r) throws IOException {
        Map<Integer, Integer> tids = new HashMap<>();
        tids.put(r.process.pid(), r.pid);
        for (Restoring.Created t : r.created) {
            tids.put(t.state().tid(), t.tid());
        }
        create(r.stub, r.process.state().timers().posix(), tids);
    }

    /**
     * Creates {@code timers} (sorted by id) in the process of {@code in}; {@code tids} maps a
     * checkpoint's thread to the thread restored for it.
     */
    static void create(Injector in, List<PosixTimer> timers, Map<Integer, Integer> tids) throws IOException {
        if (timers.isEmpty()) {
            return;
        }
        long on = in.raw(Syscalls.PRCTL, SystemInfo.PR_TIMER_CREATE_RESTORE_IDS,
                SystemInfo.PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0);
        boolean byId = !Syscalls.isError(on);
        if (!byId && Syscalls.errno(on) != Errno.EINVAL) {
            throw new RestoreException("prctl(PR_TIMER_CREATE_RESTORE_IDS) failed in process " + in.pid() + ": "
                    + Errno.name(Syscalls.errno(on)) + " (" + Errno.text(Syscalls.errno(on)) + ")");
        }
        if (!byId) {
            log.debug("restore: no PR_TIMER_CREATE_RESTORE_IDS here (EINVAL): POSIX timers created in id order");
        }
        try {
            for (PosixTimer t : timers) {
                in.resetScratch();
                if (byId) {
                    createById(in, t, tids);
                } else {
                    createInOrder(in, t, tids);
                }
            }
        } finally {
            if (byId) {
                in.call("prctl(PR_TIMER_CREATE_RESTORE_IDS, OFF)", Syscalls.PRCTL,
                        SystemInfo.PR_TIMER_CREATE_RESTORE_IDS, SystemInfo.PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0);
            }
        }
    }

    private static void createById(Injector in, PosixTimer t, Map<Integer, Integer> tids) throws IOException {
        long rc = timerCreate(in, t, tids, in.put(idSlot(t)));
        if (Syscalls.isError(rc)) {
            throw cannotCreate(t, Syscalls.errno(rc));
        }
    }

    private static void createInOrder(Injector in, PosixTimer t, Map<Integer, Integer> tids) throws IOException {
        for (int skipped = 0; skipped <= MAX_SKIPPED_IDS; skipped++) {
            in.resetScratch();
            long idAt = in.put(idSlot(t));
            long rc = timerCreate(in, t, tids, idAt);
            if (Syscalls.isError(rc)) {
                throw cannotCreate(t, Syscalls.errno(rc));
            }
            ByteBuffer id = Stub.struct(4);
            in.read(idAt, id);
            int got = id.getInt(0);
            if (got == t.id()) {
                return;
            }
            in.call("timer_delete", Syscalls.TIMER_DELETE, got);
            if (got > t.id()) {
                throw new RestoreException("cannot recreate POSIX timer " + t.id() + " of process " + in.pid()
                        + ": this kernel has no PR_TIMER_CREATE_RESTORE_IDS (Linux 6.17) and hands out id " + got
                        + " already; restore on Linux 6.17 or later");
            }
        }
        throw new RestoreException("cannot recreate POSIX timer " + t.id() + " of process " + in.pid()
                + ": this kernel has no PR_TIMER_CREATE_RESTORE_IDS (Linux 6.17) and the id is more than "
                + MAX_SKIPPED_IDS + " ids away; restore on Linux 6.17 or later");
    }

    /** The timer_t that timer_create fills, holding {@code t}'s id (which the kernel reads under the prctl). */
    private static ByteBuffer idSlot(PosixTimer t) {
        return Stub.struct(8).putInt(0, t.id()).putInt(4, 0);
    }

    /** Injects timer_create for {@code t}, the id at {@code idAt}; returns the raw result. */
    private static long timerCreate(Injector in, PosixTimer t, Map<Integer, Integer> tids, long idAt)
            throws IOException {
        ByteBuffer ev = Stub.struct(SIGEVENT_SIZE).putLong(0, t.sigevValue()).putInt(8, t.signo())
                .putInt(12, t.sigevNotify());
        if (t.isThreadTargeted()) {
            Integer tid = tids.get(t.notifyTid());
            if (tid == null) {
                throw new RestoreException("POSIX timer " + t.id() + " signals thread " + t.notifyTid()
                        + ", which was not restored");
            }
            ev.putInt(16, tid);
        }
        return in.raw(Syscalls.TIMER_CREATE, t.clockId(), in.put(ev), idAt);
    }

    private static RestoreException cannotCreate(PosixTimer t, int errno) {
        return new RestoreException("cannot recreate POSIX timer " + t.id() + " (clock " + t.clockId() + ", signal "
                + t.signo() + "): timer_create failed: " + Errno.name(errno) + " (" + Errno.text(errno) + ")"
                + (errno == Errno.EBUSY ? ": the id is in use" : ""));
    }
}
