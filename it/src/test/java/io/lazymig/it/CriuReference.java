package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * The real CRIU 4.1.1 as a reference: the shared tool {@code criu-reference} (Debian trixie's criu
 * in a chroot). Found through the system property or environment variable
 * {@code LAZYMIG_CRIU_REFERENCE}, then {@code $lazymig.root/../shared/tools/criu-reference}, then
 * {@code /work/shared/tools/criu-reference}; a test that needs it is skipped, with the reason, when
 * none exists or it cannot run here (see {@link #probe}).
 */
final class CriuReference {
    static final String VARIABLE = "LAZYMIG_CRIU_REFERENCE";
    /** The probe's own bounds: set-up (900 s, a first debootstrap) plus two steps of 20 s, and a margin. */
    private static final long PROBE_BOUND_SECONDS = 1000;
    private static Probe probe;

    private CriuReference() {
    }

    record Result(int exit, String output) {
    }

    /** The tool, or a failure that says where it was looked for. */
    static Path locate() {
        List<Path> candidates = new ArrayList<>();
        for (String v : new String[] { System.getProperty(VARIABLE), System.getenv(VARIABLE) }) {
            if (v != null && !v.isBlank()) {
                candidates.add(Path.of(v));
            }
        }
        candidates.add(Workload.root().resolve("../shared/tools/criu-reference").normalize());
        candidates.add(Path.of("/work/shared/tools/criu-reference"));
        for (Path p : candidates) {
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        Assumptions.abort("criu-reference (the real CRIU 4.1.1 used as the format reference) not found; looked at "
                + candidates + ". Set the system property or environment variable " + VARIABLE + " to its path.");
        return null;
    }

    /**
     * Whether the reference runs here: {@code it/scripts/criu-probe.sh} sets it up (idempotent; the
     * first time it debootstraps a chroot, minutes) and dumps and restores a sleeping process, each
     * step bounded to seconds. Asked once per test JVM; a test that needs the reference calls
     * {@link #assumeRuns()}, so that a CRIU that cannot run on this machine is a skip with the
     * probe's reason, visible in the summary, never a hang or a failure of lazymig's tests.
     */
    static synchronized Probe probe(Path tool) throws IOException, InterruptedException {
        if (probe == null) {
            Path script = Workload.root().resolve("it/scripts/criu-probe.sh");
            ChildGroup.Finished f = ChildGroup.run(PROBE_BOUND_SECONDS, List.of(script.toString(), tool.toString()));
            String line = f.output().strip();
            line = line.isEmpty() ? "(no output)" : line.lines().reduce((a, b) -> b).orElse(line);
            probe = f.timedOut() ? new Probe(false, "criu-probe.sh did not finish within " + PROBE_BOUND_SECONDS + " s")
                    : new Probe(f.exit() == 0 && line.equals("ok"), line);
            System.out.println("criu-reference probe: " + probe.reason());
        }
        return probe;
    }

    /** The reference, set up and able to dump and restore here; otherwise the calling test is skipped with the reason. */
    static Path assumeRuns() throws IOException, InterruptedException {
        Path tool = locate();
        Probe p = probe(tool);
        Assumptions.assumeTrue(p.runs(), () -> "the reference CRIU cannot run here: " + p.reason());
        return tool;
    }

    /** What the probe found: {@code runs}, or the reason it does not. */
    record Probe(boolean runs, String reason) {
    }

    /** Runs {@code criu-reference ARGS} to its end; a run past the bound is killed with its whole process group and fails. */
    static Result run(Path tool, long timeoutSeconds, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(tool.toString()));
        cmd.addAll(List.of(args));
        ChildGroup.Finished f = ChildGroup.run(timeoutSeconds, cmd);
        if (f.timedOut()) {
            fail("criu-reference " + String.join(" ", args) + " did not finish in " + timeoutSeconds + " s (killed):\n"
                    + f.output());
        }
        return new Result(f.exit(), f.output());
    }

    /** Its crit, as a command for {@link Crit#summarize}. */
    static List<String> crit(Path tool) {
        return List.of(tool.toString(), "crit");
    }
}
