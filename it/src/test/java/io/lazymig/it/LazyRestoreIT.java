package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Lazy restore against the real lazy-pages daemon on this host: {@code lazymig lazy-pages
 * --address SOCK -D DIR}, then {@code lazymig restore --lazy-pages --address SOCK -D DIR}. The
 * process runs at once and its memory arrives behind it, byte-exact. And the guard: a daemon
 * killed mid-transfer leaves the process blocked (never running on zero pages) until a new daemon
 * on the same address takes its uffd over from restore, or the deadline passes and restore kills it.
 */
class LazyRestoreIT {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"checksum-loop", "restore-signals-static", "python"})
    @Timeout(120)
    void lazyHandoffToTheDaemon(String workload) throws Exception {
        RestoreWorkload w = workload.equals("python") ? RestoreWorkload.python(dir, "32", "100")
                : RestoreWorkload.c(dir, workload, "32", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(3, true);
            long lazyPages = Checkpoint.read(c.images).pagemap().lazyPages();
            assertTrue(lazyPages > 8192, "32 MiB should be lazy, got " + lazyPages + " pages");
            Path sock = dir.resolve("lazy.sock");
            Path stats = dir.resolve("stats.json");
            RestoreLauncher.Running daemon = c.closeLater(RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), sock,
                    c.images, "--stats-file", stats.toString()));
            c.restore("--lazy-pages", "--address", sock.toString());
            String log = c.restore.awaitLog("running after");
            assertThat(log, containsString("restore: process " + w.pid + " running after"));
            c.awaitRestoredLine();
            c.assertSameProcState();
            c.assertOneContinuousRun(w.pid);
            // The daemon fills every lazy page, reports the process complete to restore's guard, and exits.
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertThat(daemon.log(), containsString("every page is in"));
            // It copied every lazy page but those restore wrote itself (the rseq area: eager bytes
            // beyond the checkpoint's non-lazy pages).
            Checkpoint cp = Checkpoint.read(c.images);
            long eagerPages = Long.parseLong(log.replaceAll("(?s).*running after [0-9.]+ ms \\((\\d+) eager bytes\\).*", "$1")) / 4096;
            long writtenAnyway = eagerPages - (cp.pagemap().presentBytes() / 4096 - lazyPages);
            assertTrue(writtenAnyway >= 0 && writtenAnyway <= 2, "restore wrote " + writtenAnyway + " lazy pages itself");
            String json = Files.readString(stats);
            assertThat(json, containsString("\"pages_total\": " + (lazyPages - writtenAnyway) + ","));
            c.restore.awaitLog("process " + w.pid + " has all its pages");
            long n = w.lastCounter();
            w.awaitLine("a counter after the transfer", l -> l.counter() > n);
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * The guard: kill -9 the daemon mid-transfer (no background transfer for 30 s, the process
     * asleep for its first second), see the process blocked on its missing pages (wchan
     * handle_userfault; no line with a wrong sum), start a new daemon on the same address: restore
     * hands it the uffd again and the process goes on with the right checksum.
     */
    @Test
    @Timeout(150)
    void aKilledDaemonIsReplacedAndTheProcessGoesOn() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "checksum-loop-static", "512", "1000");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(2, false);
            String sum = w.lines().get(0).sum();
            Path sock = dir.resolve("lazy.sock");
            // Slow on purpose: no background transfer, one page per fault (the first pass takes seconds).
            RestoreLauncher.Running first = c.closeLater(RestoreLauncher.lazyPages(dir.resolve("lazy-pages-1.log"), sock,
                    c.images, "--lazy-idle-timeout", "30", "--fault-around", "4096"));
            c.restore("--lazy-pages", "--address", sock.toString());
            c.restore.awaitLog("running after");
            first.process.destroyForcibly();
            first.awaitExit();
            assertThat("the first daemon finished before it was killed", first.log(), not(containsString("every page is in")));
            c.restore.awaitLog("went away");

            awaitBlockedOnMissingPages(w.pid);
            assertOnlyRightSums(w, sum);
            assertEquals(c.lastBefore, w.lastCounter(), "the process went on without its pages:\n" + w.text());

            // Not awaited until it listens: it may take the uffd and put every page in before a look at /proc/net/unix.
            RestoreLauncher.Running second = c.closeLater(RestoreLauncher.startLazyPages(dir.resolve("lazy-pages-2.log"), sock,
                    c.images));
            c.restore.awaitLog("handed process " + w.pid + " to a new lazy-pages daemon");
            c.awaitRestoredLine();
            assertEquals(0, second.awaitExit(), second.log());
            c.restore.awaitLog("process " + w.pid + " has all its pages");
            long n = w.lastCounter();
            w.awaitLine("a counter after the transfer", l -> l.counter() > n);
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * --wait-daemon: restore is started first and waits for the daemon's socket before it reads
     * the images, so an operator (and the benchmark) can start both at once.
     */
    @Test
    @Timeout(120)
    void restoreStartedBeforeTheDaemonWaitsForIt() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "checksum-loop", "32", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(2, false);
            String sum = w.lines().get(0).sum();
            Path sock = dir.resolve("lazy.sock");
            c.restore("--lazy-pages", "--address", sock.toString(), "--wait-daemon", "60");
            String waiting = c.restore.awaitLog("restore: waiting up to 60 s for the lazy-pages daemon at " + sock);
            assertThat("restore ran before the daemon was there", waiting, not(containsString("running after")));
            // While it waits, it warms its JVM up with a loopback migration of its own, silently:
            // none of that migration's lines may be taken for the real one's.
            String warm = c.restore.awaitLog("restore: warmed up in");
            assertThat(warm, not(containsString("running after")));
            assertThat(warm, not(containsString("has all its pages")));
            RestoreLauncher.Running daemon = c.closeLater(RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), sock,
                    c.images));
            c.restore.awaitLog("running after");
            c.awaitRestoredLine();
            assertEquals(0, daemon.awaitExit(), daemon.log());
            String log = c.restore.awaitLog("process " + w.pid + " has all its pages");
            assertEquals(1, log.split("running after", -1).length - 1, "one process restored, the real one:\n" + log);
            assertThat(log, containsString("process " + w.pid + " running after"));
            assertOnlyRightSums(w, sum);
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    /** No daemon comes back within --lazy-deadline: restore kills the process and fails, saying why. */
    @Test
    @Timeout(120)
    void noDaemonWithinTheDeadlineKillsTheProcess() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "checksum-loop", "128", "200");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(2, false);
            String sum = w.lines().get(0).sum();
            Path sock = dir.resolve("lazy.sock");
            RestoreLauncher.Running daemon = c.closeLater(RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), sock,
                    c.images, "--lazy-idle-timeout", "30", "--fault-around", "4096"));
            c.restore("--lazy-pages", "--address", sock.toString(), "--lazy-deadline", "5");
            c.restore.awaitLog("running after");
            daemon.process.destroyForcibly();
            daemon.awaitExit();
            assertThat("the daemon finished before it was killed", daemon.log(), not(containsString("every page is in")));
            awaitBlockedOnMissingPages(w.pid);

            int exit = c.restore.awaitExit();
            assertNotEquals(0, exit, c.restore.log());
            assertThat(c.restore.log(), containsString("no lazy-pages daemon came back at " + sock + " within 5 s: process "
                    + w.pid + " killed rather than left on missing pages"));
            assertFalse(RestoreProcs.exists(w.pid), "process " + w.pid + " left behind");
            assertOnlyRightSums(w, sum);
            assertEquals(c.lastBefore, w.lastCounter(), "the process went on without its pages:\n" + w.text());
        }
    }

    /** The process sleeps in the kernel waiting for a page (it is not running on zero pages). */
    static void awaitBlockedOnMissingPages(int pid) throws Exception {
        RestoreEagerIT.awaitWchan(pid, "handle_userfault");
        assertEquals("S", RestoreProcs.stateLetter(pid));
    }

    static void assertOnlyRightSums(RestoreWorkload w, String sum) throws Exception {
        List<RestoreWorkload.Line> lines = w.lines();
        for (RestoreWorkload.Line l : lines) {
            assertEquals(sum, l.sum(), "a wrong checksum (zero pages?):\n" + w.text());
        }
    }
}
