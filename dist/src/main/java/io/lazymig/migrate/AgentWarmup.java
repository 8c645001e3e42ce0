package io.lazymig.migrate;

import io.lazymig.dump.Dumper;
import io.lazymig.images.Checkpoint;
import io.lazymig.jni.Ptrace;
import io.lazymig.lazyclient.LazyPagesDaemon;
import io.lazymig.lazyserver.DestinationImages;
import io.lazymig.restore.Restorer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's warm-up, before it takes its first migration: a throw-away {@code sleep} process is
 * dumped, its destination images built, and it is restored lazily with a local daemon on a thread
 * of this JVM, then killed — the code of a migration's downtime runs once, off the clock (on a cold
 * JVM the daemon took ~360 ms to listen and restore ~130 ms). A failure only costs the warmth.
 */
final class AgentWarmup {
    private static final Logger log = LoggerFactory.getLogger("lazymig.agent");

    private AgentWarmup() {
    }

    static void run(Path workDir, Path stub) {
        Path dir = null;
        int restored = -1;
        try {
            dir = Files.createTempDirectory(workDir, "warmup-");
            int pid = startSleeper();
            Dumper.dump(new Dumper.Options(pid, dir, false));
            Checkpoint cp = Checkpoint.read(dir);
            DestinationImages.build(cp, dir).close();
            Path sock = dir.resolve("lp.sock");
            CountDownLatch listening = new CountDownLatch(1);
            LazyPagesDaemon.Options o = new LazyPagesDaemon.Options(sock, dir, 64 * 1024, 1 << 20, 4, 0, listening::countDown);
            Throwable[] failure = {null};
            Thread daemon = new Thread(() -> {
                try {
                    LazyPagesDaemon.runLocal(o, null);
                } catch (Throwable e) {
                    failure[0] = e;
                } finally {
                    listening.countDown();
                }
            }, "warm-up daemon");
            daemon.setDaemon(true);
            daemon.start();
            if (!listening.await(30, TimeUnit.SECONDS) || failure[0] != null) {
                throw new IOException("daemon: " + failure[0]);
            }
            Restorer.Restored r = Restorer.restore(new Restorer.Options(dir, true, sock, true, stub));
            restored = r.pid();
            daemon.join(30_000);
            r.handoff().close();
            log.info("agent: warmed up (a sleep process dumped and restored lazily here)");
        } catch (IOException | RuntimeException | InterruptedException e) {
            log.warn("agent: warm-up failed ({}); the first migration runs on a cold JVM", e.getMessage());
        } finally {
            if (restored > 0) {
                try {
                    Ptrace.killAndReap(restored);
                } catch (IOException ignored) {
                    // gone already
                }
            }
            if (dir != null) {
                deleteTree(dir);
            }
        }
    }

    /** A sleep that is not our child (the shell that starts it exits), with no fd but /dev/null. */
    private static int startSleeper() throws IOException, InterruptedException {
        Process sh = new ProcessBuilder("sh", "-c", "sleep 600 </dev/null >/dev/null 2>&1 & echo $!")
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(sh.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        if (!sh.waitFor(10, TimeUnit.SECONDS)) {
            sh.destroyForcibly();
            throw new IOException("the warm-up process did not start");
        }
        int pid = Integer.parseInt(out);
        Path exe = Path.of("/proc", out, "exe");
        for (int i = 0; i < 500; i++) {
            try {
                if (Files.readSymbolicLink(exe).getFileName().toString().equals("sleep")) {
                    return pid;
                }
            } catch (IOException e) {
                // not yet exec'd
            }
            Thread.sleep(2);
        }
        throw new IOException("the warm-up process did not exec sleep");
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.debug("agent: cannot remove {}: {}", dir, e.getMessage());
        }
    }
}
