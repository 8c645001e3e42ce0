package io.lazymig.migrate;

import io.lazymig.dump.Dumper;
import io.lazymig.jni.Ptrace;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rehearses the dump before a real freeze: three dumps (lazy, nothing written but the images) of
 * a throw-away threaded process, {@code lazymig-warmup-target}, which runs on after each. On a cold
 * JVM a dump's code runs several times slower the first times, and per thread: measured here, a
 * 64 MiB bench-tick froze 58 ms (1 thread) and 83 ms (8 threads) in a fresh JVM, ~21 ms and ~30 ms
 * from the third dump in the same JVM. The commands whose freeze is a downtime (migrate, dump
 * --lazy-pages) run it before they freeze; it costs ~0.3-0.5 s then. A failure only costs the warmth.
 */
public final class DumpWarmup {
    private static final Logger log = LoggerFactory.getLogger("lazymig.warmup");
    private static final int ROUNDS = 3;
    private static final int THREADS = 4;

    private DumpWarmup() {
    }

    /** Runs the rehearsal in a temporary directory of {@code workDir}; says how it went. */
    public static boolean run(Path workDir, Path target) {
        long t0 = System.nanoTime();
        boolean wasQuiet = QuietThreads.isQuiet();
        QuietThreads.quiet(true); // the rehearsal's own dump lines are not the operator's
        int pid = -1;
        Path dir = null;
        try {
            if (!Files.isExecutable(target)) {
                log.debug("warm-up: no {}: the dump runs cold", target);
                return false;
            }
            Files.createDirectories(workDir);
            dir = Files.createTempDirectory(workDir, "dump-warmup-");
            pid = startTarget(target);
            for (int i = 0; i < ROUNDS; i++) {
                Path images = Files.createDirectory(dir.resolve("r" + i));
                Dumper.dump(new Dumper.Options(pid, images, true, (cp, frozenAt) -> { }, 0));
            }
            log.debug("warm-up: {} dumps of a {}-thread process in {} ms", ROUNDS, THREADS,
                    (System.nanoTime() - t0) / 1_000_000);
            return true;
        } catch (Exception e) {
            log.debug("warm-up: the dump rehearsal failed ({}); the dump runs cold", e.toString());
            return false;
        } finally {
            QuietThreads.quiet(wasQuiet);
            if (pid > 0) {
                try {
                    Ptrace.killAndReap(pid);
                } catch (IOException ignored) {
                    // gone already
                }
            }
            if (dir != null) {
                Warmup.deleteTree(dir);
            }
        }
    }

    /** The warm-up target built beside the library (native/target in the tree; the library's directory when installed). */
    public static Path targetPath() {
        String dir = System.getProperty("lazymig.native.dir");
        if (dir != null) {
            return Path.of(dir, "lazymig-warmup-target");
        }
        String lib = System.getProperty("lazymig.library.path");
        return lib == null ? Path.of("lazymig-warmup-target") : Path.of(lib).resolveSibling("lazymig-warmup-target");
    }

    /**
     * Starts the target through a shell that exits at once (the JVM reaps its own children and would
     * take the tracer's wait notifications), and waits until every thread of it exists.
     */
    private static int startTarget(Path target) throws IOException, InterruptedException {
        Process sh = new ProcessBuilder("sh", "-c", "\"$0\" " + THREADS + " </dev/null >/dev/null 2>&1 & echo $!",
                target.toString()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(sh.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        if (!sh.waitFor(10, TimeUnit.SECONDS)) {
            sh.destroyForcibly();
            throw new IOException("the warm-up target did not start");
        }
        int pid = Integer.parseInt(out);
        Path task = Path.of("/proc", out, "task");
        for (int i = 0; i < 1000; i++) {
            try (Stream<Path> s = Files.list(task)) {
                if (s.count() == THREADS) {
                    return pid;
                }
            }
            Thread.sleep(2);
        }
        throw new IOException("the warm-up target did not start its threads");
    }
}
