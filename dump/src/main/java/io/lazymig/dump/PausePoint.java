package io.lazymig.dump;

import java.util.concurrent.locks.LockSupport;

/**
 * A test seam for the "dump killed at every phase" tests: with {@code LAZYMIG_PAUSE_AFTER=STEP} in
 * its environment (a step name of {@link FrozenSteps}: freeze, regs, inject, maps, ..., images) the
 * dump says so on stderr once that step has ended and waits there, frozen process and all, until it
 * is killed. Without the variable it costs one comparison per step.
 */
final class PausePoint {
    private static final String STEP = System.getenv("LAZYMIG_PAUSE_AFTER");

    private PausePoint() {
    }

    static void after(String step) {
        if (STEP == null || !STEP.equals(step)) {
            return;
        }
        System.err.println("dump: paused after step " + step + " (LAZYMIG_PAUSE_AFTER); waiting to be killed");
        System.err.flush();
        while (true) {
            LockSupport.park();
        }
    }
}
