package io.lazymig.restore;

import io.lazymig.images.SigAction;
import io.lazymig.images.SigInfo;
import io.lazymig.images.ThreadState;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The signals pending at dump, queued again with their siginfo, in queue order, so they are
 * delivered after the restore as they would have been: a thread's own ones by
 * rt_tgsigqueueinfo(pid, tid, ...) injected into that thread, the process-wide ones by
 * rt_sigqueueinfo(pid, ...) injected into the leader. The kernel refuses a siginfo with
 * si_code >= 0 (kill's SI_USER, kernel-sent codes) or SI_TKILL from userspace unless the caller is
 * the target itself (its tid equals the pid it names, -EPERM otherwise), which is why each is
 * injected into the task it is for.
 *
 * <p>From here on every thread blocks every signal (PTRACE_SETSIGMASK), so no queued signal is
 * taken during the injections that follow; {@link RegistersStep} sets each thread's own mask last,
 * and the detach lets the kernel deliver what that mask lets through. A signal blocked at dump
 * stays pending and blocked.
 */
final class PendingSignalsStep implements RestoreStep {
    @Override
    public String name() {
        return "pending signals";
    }

    @Override
    public void run(Restoring r) throws IOException {
        Ptrace.setSigmask(r.pid, -1L);
        for (Restoring.Created t : r.created) {
            Ptrace.setSigmask(t.tid(), -1L);
        }
        queue(r.stub, r.pid, r.pid, r.process.leader());
        for (Restoring.Created t : r.created) {
            queue(t.stub(), r.pid, t.tid(), t.state());
        }
        for (SigInfo s : r.process.state().sharedPending()) {
            r.stub.resetScratch();
            r.stub.call("rt_sigqueueinfo", Syscalls.RT_SIGQUEUEINFO, r.pid, signo(s),
                    r.stub.put(siginfo(s)));
        }
    }

    private static void queue(Stub in, int pid, int tid, ThreadState t) throws IOException {
        for (SigInfo s : t.pending()) {
            in.resetScratch();
            in.call("rt_tgsigqueueinfo", Syscalls.RT_TGSIGQUEUEINFO, pid, tid,
                    signo(s), in.put(siginfo(s)));
        }
    }

    /** The signal number; SIGKILL and SIGSTOP cannot be blocked, so they cannot wait for the release. */
    private static int signo(SigInfo s) throws RestoreException {
        if (s.signo() == SigAction.SIGKILL || s.signo() == SigAction.SIGSTOP) {
            throw new RestoreException("the checkpoint has " + s + " pending: SIGKILL and SIGSTOP cannot be queued"
                    + " again before the process is released");
        }
        return s.signo();
    }

    private static ByteBuffer siginfo(SigInfo s) {
        return Stub.struct(SigInfo.SIZE).put(s.raw()).flip();
    }
}
