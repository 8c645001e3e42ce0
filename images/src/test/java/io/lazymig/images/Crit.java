package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs CRIU's {@code crit} (Debian's criu package) for the tests that check it reads our images. */
final class Crit {
    private Crit() {
    }

    /** What a finished crit printed (stdout and stderr) and its exit code. */
    record Result(int exitCode, String output) {
    }

    /** {@code crit ARGS} in {@code dir}; what it printed (stdout and stderr); fails the test unless it exits 0. */
    static String run(Path dir, String... args) throws Exception {
        Result r = exec(dir, args);
        assertEquals(0, r.exitCode(), "crit " + String.join(" ", args) + " failed:\n" + r.output());
        return r.output();
    }

    /** {@code crit ARGS} in {@code dir}, whatever its exit code; fails the test if it does not finish. */
    static Result exec(Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add("crit");
        command.addAll(List.of(args));
        Path out = Files.createTempFile("lazymig-crit-", ".out");
        try {
            Process p;
            try {
                // Output to a file, never a pipe this thread could block on.
                p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).redirectOutput(out.toFile()).start();
            } catch (IOException e) {
                fail("crit is not installed: run `apt-get install -y criu` (Debian's criu package ships /usr/bin/crit): " + e);
                throw e;
            }
            try {
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    fail(String.join(" ", command) + " did not finish within 60 s");
                }
            } finally {
                p.destroyForcibly();
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    fail(String.join(" ", command) + " (pid " + p.pid() + ") survived SIGKILL for 10 s");
                }
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** {@code crit decode --pretty} of {@code image} in {@code dir}. */
    static String decode(Path dir, String image) throws Exception {
        return run(dir, "decode", "-i", dir.resolve(image).toString(), "--pretty");
    }
}
