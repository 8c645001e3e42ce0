package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The daemon's fault path under stress: fault-stress, restored lazily, reshapes its memory from
 * eight threads at once (each dumped and restored with the process; faults, mremap, MADV_DONTNEED, munmap) while the background transfer copies
 * pages in at full speed, then checks every page against the model it kept itself: no page may
 * hold anything but what the process last put there (a zero page where the checkpoint had data, or
 * data over memory the process released, counts as bad). Served by the local daemon and over
 * loopback by a lazy server (the races between the uffd reader and the copying threads are worst
 * there), several migrations each.
 */
class FaultPathStressIT {
    private static final int ROUNDS = 3;
    /** 128 MiB, 8 threads (dumped and restored with the process), 10000 operations each, a check every 500 ms. */
    private static final String[] ARGS = {"128", "8", "10000", "500"};
    private static final Pattern SERVING = Pattern.compile("serving process \\d+ .* on \\S*:(\\d+)");

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"local", "remote"})
    @Timeout(600)
    void everyPageHoldsWhatTheProcessPutThere(String mode) throws Exception {
        String reference = referenceSum(Files.createDirectories(dir.resolve("reference")));
        for (int round = 0; round < ROUNDS; round++) {
            Path d = Files.createDirectories(dir.resolve(mode + "-" + round));
            migrate(d, mode.equals("remote"), reference);
        }
    }

    private static void migrate(Path dir, boolean remote, String reference) throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "fault-stress", ARGS);
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(1, false);
            Path sock = dir.resolve("lazy.sock");
            RestoreLauncher.Running daemon;
            if (remote) {
                RestoreLauncher.Running server = c.closeLater(RestoreLauncher.start(dir.resolve("lazy-server.log"),
                        "lazy-pages", "--lazy-server", "-D", c.images.toString(), "--address", "127.0.0.1", "--port", "0",
                        "--no-auth"));
                Matcher m = SERVING.matcher(server.awaitLog("serving process"));
                if (!m.find()) {
                    throw new AssertionError("no port in the lazy server's log:\n" + server.log());
                }
                daemon = c.closeLater(RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), sock, c.images,
                        "--lazy-client", "127.0.0.1", "--port", m.group(1), "--no-auth"));
            } else {
                daemon = c.closeLater(RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), sock, c.images));
            }
            Files.createFile(dir.resolve("go")); // the restored threads start their work at once
            c.restore("--lazy-pages", "--address", sock.toString());
            c.restore.awaitLog("running after");
            RestoreWorkload.Line after;
            try {
                after = c.awaitRestoredLine();
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\ndaemon:\n" + daemon.log() + "\nrestore:\n" + c.restore.log(), e);
            }
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertThat(daemon.log(), containsString("every page is in"));
            assertThat(daemon.log(), not(containsString("Exception")));
            assertEquals(0, after.number("bad"), "pages that do not hold what the process put there:\n" + w.text()
                    + "\ndaemon:\n" + daemon.log());
            assertEquals(reference, after.sum(), "the tags (memory of the process too) differ from a run without migration:\n"
                    + w.text());
            // Once every page is in, the whole memory is checked again.
            long n = w.lastCounter();
            RestoreWorkload.Line later = w.awaitLine("a check after the transfer", l -> l.counter() > n);
            assertEquals(0, later.number("bad"), w.text());
            assertEquals(after.sum(), later.sum(), w.text());
            c.restore.awaitLog("process " + w.pid + " has all its pages");
            c.killRestoredAndAwaitRestore();
        }
    }

    /** The final hash of the tags of a run that never migrates (the operations are the same every run). */
    private static String referenceSum(Path dir) throws Exception {
        Files.createFile(dir.resolve("go"));
        try (RestoreWorkload w = RestoreWorkload.c(dir, "fault-stress", ARGS)) {
            RestoreWorkload.Line l = w.awaitLine("counter 1", x -> x.counter() >= 1);
            assertEquals(0, l.number("bad"), w.text());
            return l.sum();
        }
    }
}
