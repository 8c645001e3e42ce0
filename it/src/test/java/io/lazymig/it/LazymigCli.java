package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs the launcher {@code $lazymig.root/lazymig} as a subprocess, stdout and stderr apart. */
final class LazymigCli {
    private LazymigCli() {
    }

    record Result(int exit, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout:\n" + stdout + "--- stderr:\n" + stderr;
        }
    }

    static Result run(String... args) throws IOException, InterruptedException {
        Path launcher = Workload.root().resolve("lazymig");
        assertTrue(Files.isExecutable(launcher), "missing launcher " + launcher);
        List<String> cmd = new ArrayList<>(List.of(launcher.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("lazymig-cli-", ".out");
        Path err = Files.createTempFile("lazymig-cli-", ".err");
        try (ChildGroup p = ChildGroup.start(new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()))) {
            if (!p.awaitExit(120)) {
                throw new AssertionError("lazymig " + String.join(" ", args) + " did not finish in 120 s (killed); stderr:\n"
                        + Files.readString(err));
            }
            return new Result(p.process.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
