package io.lazymig.restore;

import java.io.IOException;

/**
 * One step of restoring a process, run by {@link Restorer} in the order of {@link RestorePlan}.
 * Threads, process trees and new file kinds add steps (or kinds inside a step), not branches in
 * the Restorer.
 */
interface RestoreStep {
    /** The step's name in the debug timing (-v4). */
    String name();

    void run(Restoring r) throws IOException;
}
