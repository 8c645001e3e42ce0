package io.lazymig.dump;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * A test seam for the "dump killed at every phase" tests: with {@code LAZYMIG_PAUSE_AFTER=STEP} in
 * its environment (a step name of {@link FrozenSteps}: freeze, regs, inject, maps, ..., images) the
 * dump says so on stderr once that step has ended and waits there, frozen process and all, until it
 * is killed — or, with {@code LAZYMIG_PAUSE_UNTIL=FILE}, until FILE exists. Besides the steps of
 * {@link FrozenSteps}, "prefetch" is the moment before the freeze, once the carried files have been
 * read. Without the variable it costs one comparison per step.
 */
final class PausePoint {
    private static final String STEP = System.getenv("LAZYMIG_PAUSE_AFTER");
    private static final String UNTIL = System.getenv("LAZYMIG_PAUSE_UNTIL");
    static final String PREFETCH = "prefetch";

    private PausePoint() {
    }

    static void after(String step) {
        if (STEP == null || !STEP.equals(step)) {
            return;
        }
        System.err.println("dump: paused after step " + step + " (LAZYMIG_PAUSE_AFTER); waiting "
                + (UNTIL == null ? "to be killed" : "for " + UNTIL));
        System.err.flush();
        while (UNTIL == null || !Files.exists(Path.of(UNTIL))) {
            LockSupport.parkNanos(5_000_000);
        }
    }
}
