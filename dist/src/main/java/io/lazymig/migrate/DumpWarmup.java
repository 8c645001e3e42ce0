package io.lazymig.migrate;

import io.lazymig.dump.Dumper;
import io.lazymig.jni.NativeException;
import io.lazymig.lazyserver.DestinationImages;
import io.lazymig.jni.Pidfd;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.WaitStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
 * --lazy-pages) run it before they freeze; it costs ~0.3-1.5 s then, at most {@link #DEADLINE}. A
 * failure only costs the warmth.
 */
public final class DumpWarmup {
    private static final Logger log = LoggerFactory.getLogger("lazymig.warmup");
    private static final int ROUNDS = 3;
    /**
     * The target's threads: a dump's per-thread code (seize, registers, the injections, the core
     * image) runs that many times a round, so it is compiled before a process with many threads is
     * frozen (with 4, a 100-thread bench-tick froze 298 ms, of which 148 ms writing its images).
     */
    private static final int THREADS = 32;
    /**
     * How long the last round encodes its destination images again and again (no ptrace, CPU only;
     * 8-26 times here): three rounds leave the encoding mostly interpreted. Encoding a 100-thread
     * checkpoint over and over in one JVM took 14 ms the 4th time, ~5 ms the 20th, 1.2-1.5 ms warm.
     */
    static final long ENCODE_NANOS = 100_000_000L;

    private DumpWarmup() {
    }

    /**
     * The longest a dump waits for its rehearsal. It takes 0.3-1.5 s here; under load it is slow
     * without bound, as each of its ~500 ptrace stops waits for the tracee to be scheduled
     * (measured 2026-12-07 in a pid namespace with two busy loops beside the usual load: 4.7-5.0 s,
     * 4 runs). Past this the rehearsal is abandoned and the real dump proceeds cold: the warmth is
     * never worth more than the time the operator (or a test waiting for "serving the lazy pages")
     * waits for it.
     */
    static final Duration DEADLINE = Duration.ofSeconds(3);
    /** How long an abandoned rehearsal gets to end once its target is killed, so it does not run beside the freeze. */
    static final Duration GRACE = Duration.ofSeconds(2);

    /** Runs the rehearsal in a temporary directory of {@code workDir}, for at most {@link #DEADLINE}; says how it went. */
    public static boolean run(Path workDir, Path target) {
        return run(workDir, target, DEADLINE);
    }

    /**
     * Runs the rehearsal on a thread of its own (the tracer of its target) and waits for it at most
     * {@code deadline}; then it is abandoned: its target is killed (through a pidfd, never a
     * reused pid), which ends whatever ptrace wait or dump step the rehearsal is in, and it is
     * given {@link #GRACE} to clean up after itself. Returns whether it completed in time.
     */
    public static boolean run(Path workDir, Path target, Duration deadline) {
        long t0 = System.nanoTime();
        if (!Files.isExecutable(target)) {
            log.debug("warm-up: no {}: the dump runs cold", target);
            return false;
        }
        Rehearsal r = new Rehearsal(workDir, target);
        Thread t = new Thread(r::run, "dump-warmup");
        t.setDaemon(true);
        t.start();
        if (join(t, deadline)) {
            if (r.completed) { // said here: the rehearsal's own thread is quiet
                log.debug("warm-up: {} dumps of a {}-thread process in {} ms, its images encoded {} more times",
                        ROUNDS, THREADS, (System.nanoTime() - t0) / 1_000_000, r.encoded);
            }
            return r.completed;
        }
        r.abandon();
        boolean ended = join(t, GRACE);
        log.info("warm-up: the dump rehearsal did not finish within {} ms: abandoned{}; the dump runs cold",
                deadline.toMillis(), ended ? "" : " (it is still ending)");
        log.debug("warm-up: abandoned after {} ms", (System.nanoTime() - t0) / 1_000_000);
        return false;
    }

    /** Waits for {@code t} to end, at most {@code patience}; returns whether it ended. */
    private static boolean join(Thread t, Duration patience) {
        long end = System.nanoTime() + Math.max(1, patience.toNanos());
        boolean interrupted = false;
        try {
            while (t.isAlive()) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * One rehearsal: its target, its three dumps and its cleanup, all on the thread that runs it
     * (the target's tracer). {@link #abandon} is the only call from another thread; the target's
     * pidfd is shared under this object's lock.
     */
    private static final class Rehearsal {
        private final Path workDir;
        private final Path target;
        private volatile boolean abandoned;
        private volatile boolean completed;
        /** How often the last round encoded its destination images again ({@link #ENCODE_NANOS}). */
        private volatile int encoded;
        /** The target's pidfd while it may run (null before it starts and once it is killed); under the lock. */
        private Pidfd pidfd;
        /** The target's threads, the leader last; only the rehearsal's thread uses it. */
        private final List<Integer> tids = new ArrayList<>();

        Rehearsal(Path workDir, Path target) {
            this.workDir = workDir;
            this.target = target;
        }

        void run() {
            QuietThreads.quiet(true); // the rehearsal's own dump lines are not the operator's
            Path dir = null;
            try {
                Files.createDirectories(workDir);
                dir = Files.createTempDirectory(workDir, "dump-warmup-");
                int pid = startTarget(target, THREADS);
                adopt(pid);
                awaitThreads(pid);
                for (int i = 0; i < ROUNDS && !abandoned; i++) {
                    Path images = Files.createDirectory(dir.resolve("r" + i));
                    boolean last = i == ROUNDS - 1;
                    // the destination's images built too, as migrate's page server builds them inside the downtime
                    Dumper.dump(new Dumper.Options(pid, images, true, (cp, frozenAt) -> {
                        if (last) {
                            encoded = DestinationImages.rehearse(cp, images, ENCODE_NANOS);
                        } else {
                            DestinationImages.build(cp, images).close();
                        }
                    }, 0));
                }
                completed = !abandoned;
            } catch (Exception e) {
                log.debug("warm-up: the dump rehearsal {} ({}); the dump runs cold", abandoned ? "was abandoned"
                        : "failed", e.toString());
            } finally {
                kill();
                reapIfTraced();
                if (dir != null) {
                    Warmup.deleteTree(dir);
                }
            }
        }

        /**
         * Reaps the killed target's threads, the leader last, for as long as this thread still traces
         * them (a dump that failed midway leaves them traced: their exits wait for this tracer, and
         * the leader's for its threads'); ECHILD for those it does not trace (their parent, the
         * shell's, reaps them). Bounded by {@link #GRACE}; no kill by pid here (a pid may be reused),
         * and a thread that ends with tracees left releases them to their parent anyway.
         */
        private void reapIfTraced() {
            List<Integer> left = new ArrayList<>(tids);
            long end = System.nanoTime() + GRACE.toNanos();
            while (!left.isEmpty() && System.nanoTime() < end) {
                for (int i = left.size() - 1; i >= 0; i--) {
                    int tid = left.get(i);
                    try {
                        Optional<WaitStatus> st = Ptrace.poll(tid);
                        if (st.isPresent() && st.get().terminated()) {
                            left.remove(i);
                        } else if (st.isPresent() && st.get().stopped()) {
                            Ptrace.cont(tid, 0); // a stop reported before the kill took effect: let it die
                        }
                    } catch (NativeException e) {
                        left.remove(i); // ECHILD: not traced by this thread (or reaped already)
                    }
                }
                if (!left.isEmpty()) {
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }

        /**
         * Keeps a pidfd of the target just started and its thread ids (the leader last); one
         * abandoned meanwhile is killed at once.
         */
        private synchronized void adopt(int pid) throws IOException {
            pidfd = Pidfd.open(pid);
            tids.add(pid);
            if (abandoned) {
                kill();
            }
        }

        /** Waits until every thread of the target exists (or the rehearsal is abandoned), then notes them before the leader. */
        private void awaitThreads(int pid) throws IOException, InterruptedException {
            Path task = Path.of("/proc", Integer.toString(pid), "task");
            for (int i = 0; i < 1000 && !abandoned; i++) {
                List<Integer> now = new ArrayList<>();
                try (Stream<Path> s = Files.list(task)) {
                    s.forEach(p -> now.add(Integer.parseInt(p.getFileName().toString())));
                }
                if (now.size() == THREADS) {
                    now.remove(Integer.valueOf(pid));
                    tids.addAll(0, now);
                    return;
                }
                Thread.sleep(2);
            }
            throw new IOException(abandoned ? "abandoned" : "the warm-up target did not start its threads");
        }

        /** From the waiting thread: stop at the next step, and kill the target so that any wait for it ends. */
        synchronized void abandon() {
            abandoned = true;
            kill();
        }

        /** SIGKILL to the target through its pidfd, once. */
        private synchronized void kill() {
            if (pidfd == null) {
                return;
            }
            try {
                pidfd.sendSignal(SystemInfo.SIGKILL);
            } catch (NativeException e) {
                log.debug("warm-up: cannot kill the rehearsal's target: {}", e.getMessage());
            } finally {
                pidfd.close();
                pidfd = null;
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
     * take the tracer's wait notifications); returns its pid.
     */
    static int startTarget(Path target, int threads) throws IOException, InterruptedException {
        Process sh = new ProcessBuilder("sh", "-c", "\"$0\" " + threads + " </dev/null >/dev/null 2>&1 & echo $!",
                target.toString()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(sh.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        if (!sh.waitFor(10, TimeUnit.SECONDS)) {
            sh.destroyForcibly();
            throw new IOException("the warm-up target did not start");
        }
        return Integer.parseInt(out);
    }
}
