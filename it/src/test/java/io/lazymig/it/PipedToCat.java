package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** restore-files with its stdout a pipe to a cat outside it, as under a supervisor or in {@code cmd | tee}. */
final class PipedToCat {
    private PipedToCat() {
    }

    /** Starts it in {@code dir}; its lines come out of cat into {@code out}. */
    static RestoreWorkload start(Path dir, Path out) throws IOException, InterruptedException {
        Path append = dir.resolve("append.log");
        Path read = dir.resolve("read.bin");
        Files.write(read, new byte[4096]);
        List<String> cmd = List.of(Workloads.path("restore-files"), "4", "50", append.toString(), read.toString(), "0");
        String line = String.join(" ", cmd.stream().map(RestoreWorkload::quote).toList());
        Process sh = new ProcessBuilder("sh", "-c", "(" + line + " </dev/null 2>/dev/null | cat >" + RestoreWorkload.quote(
                out.toString()) + ") >/dev/null 2>&1 </dev/null &").directory(dir.toFile()).start();
        assertTrue(sh.waitFor(30, TimeUnit.SECONDS), "sh did not exit");
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RestoreWorkload.PATIENCE_MS);
        while (System.nanoTime() < end) {
            for (int pid : RestoreProcs.withExe(Path.of(cmd.get(0)).toRealPath().toString())) {
                String cmdline = Files.readString(Path.of("/proc", Integer.toString(pid), "cmdline"));
                if (cmdline.contains(append.toString())) {
                    return RestoreWorkload.adopt(pid, out, dir, cmd);
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("restore-files never started");
    }
}
