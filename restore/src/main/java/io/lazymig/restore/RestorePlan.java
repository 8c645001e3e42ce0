package io.lazymig.restore;

import java.util.ArrayList;
import java.util.List;

/**
 * The order of restore's steps for one process. The constraints that fix it: memory before
 * anything that reads it; PR_SET_MM_MAP after the stub's own exe is unmapped; the lazy handoff
 * before rseq (which reads its area) and before the credentials are dropped (the uffd, the mm
 * fields, clone3's set_tid and the POSIX timers' ids need root's privileges); the
 * pending signals queued once every thread exists, from when on every thread blocks every signal;
 * POSIX timers after the threads they may signal; the parent-death signals after the credentials
 * (a change of ids resets them); the timers armed as late as possible, so they go
 * on from where they were; registers (and each thread's own mask) last, once nothing more is injected;
 * the scheduling noted by its step is given to the threads from outside just before the release.
 */
final class RestorePlan {
    private RestorePlan() {
    }

    static List<RestoreStep> steps(boolean lazy) {
        List<RestoreStep> steps = new ArrayList<>();
        steps.add(new StubSetup());
        steps.add(new MemoryStep());
        steps.add(new ProcessStep());
        steps.add(new FdTableStep());
        if (lazy) {
            steps.add(new LazyHandoffStep());
        }
        steps.add(new ThreadStep());
        steps.add(new PendingSignalsStep());
        steps.add(new SchedStep());
        steps.add(new TimersStep());
        steps.add(new CredsStep());
        steps.add(new DeathSignalStep());
        steps.add(new ArmTimersStep());
        steps.add(new RegistersStep());
        return steps;
    }
}
