package io.lazymig.restore;

import io.lazymig.jni.SyscallBatch;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each thread's parent-death signal (prctl(PR_SET_PDEATHSIG)), after the credentials: a change of
 * ids resets it. Only for a process whose parent is restored with it: the root's parent here is
 * lazymig's own tracer thread, and its parent on the source is not on this host at all, so its
 * signal would fire when restore's thread ends, not when that parent dies (CRIU sets it there too,
 * with the same consequence; lazymig leaves it unset and says so).
 */
final class DeathSignalStep implements RestoreStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    @Override
    public String name() {
        return "parent-death signals";
    }

    @Override
    public void run(Restoring r) throws IOException {
        List<SyscallBatch.Call> calls = new ArrayList<>();
        for (ThreadStep.Running t : ThreadStep.running(r)) {
            int sig = t.state().pdeathSig();
            if (sig == 0) {
                continue;
            }
            if (r.process == r.checkpoint.root()) {
                log.info("restore: thread {} of the root had parent-death signal {}: not set, its parent is not"
                        + " restored with it", t.state().tid(), sig);
                continue;
            }
            calls.add(r.stub.in(t.tid(), SystemInfo.PR_SET_PDEATHSIG, sig, 0, 0, 0));
        }
        if (!calls.isEmpty()) {
            r.stub.callEach("prctl(PR_SET_PDEATHSIG)", Syscalls.PRCTL, calls);
        }
    }
}
