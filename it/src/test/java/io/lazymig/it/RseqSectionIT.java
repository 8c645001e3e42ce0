package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A thread frozen inside an rseq critical section (it/workloads/rseq-cs.c: a section that never
 * commits, left only through its abort handler, which the kernel takes on every signal the
 * program's second thread sends it) must still be inside a section the kernel knows after the dump
 * resumes it and after a restore: its abort count goes on growing. Lost, the thread spins in the
 * section for ever and the count stops (what a dump did before the freeze moved such a thread to
 * its abort handler itself).
 */
class RseqSectionIT {
    /** Aborts to see after the dump or restore: the program counts one per millisecond. */
    private static final long MORE_ABORTS = 50;

    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void sectionSurvivesADumpThatLeavesItRunning() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "rseq-cs", "20");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(5, false, "--leave-running");
            assertAbortsGoOn(w, c.lastBefore, "after a dump with --leave-running");
        }
    }

    @Test
    @Timeout(120)
    void sectionSurvivesRestore() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "rseq-cs", "20");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(5, false);
            c.restore();
            c.awaitRestoredLine();
            assertAbortsGoOn(w, c.lastBefore, "after restore");
            c.killRestoredAndAwaitRestore();
        }
    }

    @Test
    @Timeout(120)
    void sectionSurvivesLazyRestore() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "rseq-cs-static", "20");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(5, false);
            RestoreLauncher.Running daemon = c.restoreFromLocalDaemon();
            c.awaitRestoredLine();
            assertAbortsGoOn(w, c.lastBefore, "after a lazy restore");
            assertEquals(0, daemon.awaitExit(), daemon.log());
            c.killRestoredAndAwaitRestore();
        }
    }

    /** Lines after counter {@code last} show at least MORE_ABORTS more aborts than the line at it. */
    private static void assertAbortsGoOn(RestoreWorkload w, long last, String when) throws Exception {
        long at = w.awaitLine("counter " + last, l -> l.counter() == last).number("aborts");
        RestoreWorkload.Line later = w.awaitLine("a line after counter " + last + " with " + MORE_ABORTS
                + " more aborts (" + when + ")", l -> l.counter() > last && l.number("aborts") >= at + MORE_ABORTS);
        assertTrue(later.number("aborts") >= at + MORE_ABORTS, later.raw());
    }
}
