package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real CRIU 4.1.1 as a reference: the shared tool {@code criu-reference} (Debian trixie's criu
 * in a chroot). Found through the system property or environment variable
 * {@code LAZYMIG_CRIU_REFERENCE}, then {@code $lazymig.root/../shared/tools/criu-reference}, then
 * {@code /work/shared/tools/criu-reference}; a test that needs it fails when none exists.
 */
final class CriuReference {
    static final String VARIABLE = "LAZYMIG_CRIU_REFERENCE";

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
        return fail("criu-reference (the real CRIU 4.1.1 used as the format reference) not found; looked at " + candidates
                + ". Set the system property or environment variable " + VARIABLE + " to its path.");
    }

    /**
     * {@code criu-reference setup}: idempotent; the first time it debootstraps the chroot (minutes),
     * afterwards it only makes sure of the mounts and runs {@code criu check}.
     */
    static void setup(Path tool) throws IOException, InterruptedException {
        Result r = run(tool, 900, "setup");
        if (r.exit() != 0 || !r.output().contains("Version: 4.")) {
            fail("criu-reference setup failed (exit " + r.exit() + "):\n" + r.output());
        }
    }

    static Result run(Path tool, long timeoutSeconds, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(tool.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("criu-reference-", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                fail("criu-reference " + String.join(" ", args) + " did not finish in " + timeoutSeconds + " s:\n"
                        + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Its crit, as a command for {@link Crit#summarize}. */
    static List<String> crit(Path tool) {
        return List.of(tool.toString(), "crit");
    }
}
