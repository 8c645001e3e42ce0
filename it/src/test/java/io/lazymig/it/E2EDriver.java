package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the e2e driver (it/e2e/e2e.sh, the same cases as 'make e2e') and the demo from the tests.
 * The driver makes the two namespace hosts, runs the case and removes the hosts; its output (one
 * PASS/FAIL line, and on failure the tail of the case's log) goes into the assertion message.
 * Sizes are smaller than make e2e's unless a test says otherwise.
 */
final class E2EDriver {
    /**
     * Sizes for the tests, small enough that all cases together stay within a few minutes, and the
     * driver's wait for a daemon to finish well inside a test's time limit.
     */
    static final Map<String, String> TEST_ENV = Map.of("E2E_MIB", "32", "E2E_KILL_MIB", "256", "E2E_CHURN_MIB", "8",
            "E2E_FINISH_TIMEOUT", "100");

    private E2EDriver() {
    }

    static Path root() {
        String root = System.getProperty("lazymig.root");
        if (root == null) {
            throw new IllegalStateException("system property lazymig.root is not set (run through 'make test')");
        }
        return Path.of(root);
    }

    /** Runs one case; fails with the driver's output unless it printed "PASS name". */
    static void runCase(String name, Duration timeout, Map<String, String> env) throws Exception {
        Result r = run(timeout, env, "it/e2e/e2e.sh", name);
        assertEquals(0, r.status, "e2e case " + name + " failed:\n" + r.output);
        assertTrue(r.output.lines().anyMatch(l -> l.startsWith("PASS " + name + " ")), "no PASS line:\n" + r.output);
    }

    record Result(int status, String output) {
    }

    /** The lines the scripts print while another run (make e2e, make bench) holds the hosts, and once they have them. */
    private static final String LOCK_WAIT = "another run holds the namespace hosts";
    private static final String LOCK_TAKEN = "the namespace hosts are ours now";

    /**
     * Runs a script of it/e2e with the workloads this module built; on timeout it ends the script
     * and everything it started (the driver's EXIT trap removes the hosts), then fails. The time
     * spent waiting for another run to free the hosts (at most 15 min, then the script gives up)
     * does not count.
     */
    static Result run(Duration timeout, Map<String, String> env, String... command) throws Exception {
        Path root = root();
        Path log = Files.createTempFile("lazymig-e2e-", ".log");
        ProcessBuilder pb = new ProcessBuilder(List.of(command)).directory(root.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("E2E_LOGS", root.resolve("it/target/e2e-it").toString());
        String workloads = System.getProperty("lazymig.workloads");
        if (workloads != null) {
            pb.environment().put("WORKLOADS", workloads);
        }
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!p.waitFor(1, TimeUnit.SECONDS)) {
                String out = Files.readString(log);
                if (out.contains(LOCK_WAIT) && !out.contains(LOCK_TAKEN)) {
                    deadline = System.nanoTime() + timeout.toNanos();
                } else if (System.nanoTime() > deadline) {
                    stop(p);
                    fail(String.join(" ", command) + " did not end within " + timeout.toSeconds() + " s:\n" + Files.readString(log));
                }
            }
            return new Result(p.exitValue(), Files.readString(log));
        } finally {
            if (p.isAlive()) {
                stop(p);
            }
            Files.deleteIfExists(log);
        }
    }

    /** Ends the driver: its children first, so that its EXIT trap runs at once and removes the hosts. */
    private static void stop(Process p) throws InterruptedException, IOException {
        p.descendants().forEach(ProcessHandle::destroy);
        p.destroy();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        Process cleanup = new ProcessBuilder(root().resolve("it/e2e/e2e.sh").toString(), "--cleanup")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!cleanup.waitFor(60, TimeUnit.SECONDS)) {
            cleanup.destroyForcibly();
        }
    }
}
