package io.lazymig.restore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * A test seam for the "restore killed at every phase" tests, as dump's: with
 * {@code LAZYMIG_PAUSE_AFTER=PHASE} in its environment (a phase of {@link Phases}: "read images",
 * "spawn stub", a step name of {@link RestorePlan} such as "memory" or "lazy handoff",
 * "connections released" once the connections restored alive are out of repair mode, or
 * "detached" once the process runs) restore says so on stderr when that phase has ended and waits
 * there, half-restored process and all, until it is killed — or, with
 * {@code LAZYMIG_PAUSE_UNTIL=FILE}, until FILE exists. Without the variable it costs one
 * comparison per phase.
 */
final class PausePoint {
    private static final String PHASE = System.getenv("LAZYMIG_PAUSE_AFTER");
    private static final String UNTIL = System.getenv("LAZYMIG_PAUSE_UNTIL");

    private PausePoint() {
    }

    static void after(String phase) {
        if (PHASE == null || !PHASE.equals(phase)) {
            return;
        }
        System.err.println("restore: paused after phase " + phase + " (LAZYMIG_PAUSE_AFTER); waiting "
                + (UNTIL == null ? "to be killed" : "for " + UNTIL));
        System.err.flush();
        while (UNTIL == null || !Files.exists(Path.of(UNTIL))) {
            LockSupport.parkNanos(5_000_000);
        }
    }
}
