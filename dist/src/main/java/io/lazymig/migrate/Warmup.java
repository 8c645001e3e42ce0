package io.lazymig.migrate;

import io.lazymig.dump.Dumper;
import io.lazymig.images.Checkpoint;
import io.lazymig.images.ImageDir;
import io.lazymig.jni.Ptrace;
import io.lazymig.lazyclient.LazyPagesDaemon;
import io.lazymig.lazyclient.RemotePageSource;
import io.lazymig.lazyserver.CheckpointPageStore;
import io.lazymig.lazyserver.DestinationImages;
import io.lazymig.lazyserver.LazyServer;
import io.lazymig.lazyserver.PagesFileData;
import io.lazymig.protocol.AuthKey;
import io.lazymig.restore.Restorer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole lazy migration of a throw-away {@code sleep} process inside this JVM, over loopback: dump,
 * lazy server, daemon (connect, handshake, images, pages) and lazy restore — so that the code of a
 * real migration's downtime has run once, off the clock. On a cold JVM that code is several times
 * slower the first time (measured between the namespace hosts, 64 MiB: the server took ~135 ms from
 * the images to serving, the daemon ~120 ms to connect, restore ~136 ms; warm, the whole freeze to
 * first tick was ~120 ms). The agent runs it before it says ready; the seed's commands run it while
 * they wait for their images, their server or their daemon. A failure only costs the warmth.
 */
public final class Warmup {
    private static final Logger log = LoggerFactory.getLogger("lazymig.warmup");
    /**
     * The threads of the process migrated when {@code lazymig-warmup-target} is there: restore's per-thread code (each thread's core image
     * read, the thread created, its state injected) then runs that many times in the warm-up, so
     * the JIT has compiled it before a real process with many threads stands still. With the
     * single-threaded sleep the agent restored a 100-thread process with that code cold: reading
     * its images took 208 ms, creating its threads 284 ms.
     */
    static final int THREADS = 32;

    private Warmup() {
    }

    /** Where a command that waits warms up: a directory of this host's temporary directory. */
    public static Path defaultDir() {
        return Path.of(System.getProperty("java.io.tmpdir"), "lazymig-warmup");
    }

    /** A warm-up running in the background, which the real work stops once it begins. */
    public static final class Background {
        private final Thread thread;
        private volatile boolean stopped;

        private Background(Path workDir, Path stub, String who) {
            thread = new Thread(() -> run(workDir, stub, who, () -> stopped), "warm-up");
            thread.setDaemon(true);
        }

        /**
         * Stops the warm-up at its next step (it cleans up after itself: its processes killed, its
         * directory removed). The real work calls this as it begins: on two vCPUs a warm-up still
         * running beside a real migration took CPU and GC pauses from it — measured, the restore's
         * warm-up ended 1.1 s after a whole 256 MiB lazy migration on loopback had.
         */
        public void stop() {
            stopped = true;
        }
    }

    /**
     * Starts {@link #run} on a daemon thread named "warm-up"; the caller goes on with its wait and
     * never waits for the warm-up, and stops it when its real work begins.
     */
    public static Background inBackground(Path workDir, Path stub, String who) {
        Background b = new Background(workDir, stub, who);
        b.thread.start();
        return b;
    }

    /** Runs the loopback migration to its end (the agent, before it says ready). */
    public static boolean run(Path workDir, Path stub, String who) {
        return run(workDir, stub, who, () -> false);
    }

    /** Thrown at the warm-up's next step once it is told to stop. */
    private static final class StoppedException extends RuntimeException {
        StoppedException() {
            super("stopped: the real work began", null, false, false);
        }
    }

    @FunctionalInterface
    private interface Step {
        void check();
    }

    /** Runs the loopback migration in {@code workDir} (a temporary directory inside it, removed after); says how it went. */
    private static boolean run(Path workDir, Path stub, String who, BooleanSupplier stopped) {
        long t0 = System.nanoTime();
        Step step = () -> {
            if (stopped.getAsBoolean()) {
                throw new StoppedException();
            }
        };
        boolean wasQuiet = QuietThreads.isQuiet();
        QuietThreads.quiet(true);
        Path dir = null;
        int restored = -1;
        int sleeper = -1;
        int threads = Files.isExecutable(DumpWarmup.targetPath()) ? THREADS : 1;
        try {
            Files.createDirectories(workDir);
            dir = Files.createTempDirectory(workDir, "warmup-");
            Path images = Files.createDirectory(dir.resolve("b"));
            Path dest = Files.createDirectory(dir.resolve("a"));
            Path keyFile = dir.resolve("key");
            AuthKey.generate(keyFile);
            AuthKey key = AuthKey.load(keyFile);
            step.check();
            sleeper = startProcess(threads);
            step.check();
            Dumper.dump(new Dumper.Options(sleeper, images, false));
            sleeper = -1; // the dump killed it
            step.check();
            Checkpoint cp = Checkpoint.read(images);
            readAgain(images, step);
            try (DestinationImages destImages = DestinationImages.build(cp, images);
                 CheckpointPageStore store = new CheckpointPageStore(cp, new PagesFileData(images, cp.pagemap().pagesId()));
                 LazyServer server = new LazyServer(store, destImages, key,
                         new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
                Thread serving = background("warm-up server", () -> {
                    server.serve();
                    return null;
                });
                RemotePageSource source = new RemotePageSource(server.address(), key, Duration.ofSeconds(10));
                step.check();
                source.connect();
                step.check();
                source.fetchImages(dest);
                step.check();
                Path sock = dest.resolve("lp.sock");
                CountDownLatch listening = new CountDownLatch(1);
                LazyPagesDaemon.Options o = new LazyPagesDaemon.Options(sock, dest, 64 * 1024, 1 << 20, 4, 0,
                        listening::countDown);
                Throwable[] failure = {null};
                Thread daemon = new Thread(() -> {
                    try {
                        LazyPagesDaemon.runRemote(o, source, null);
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
                // No stop during the restore: the warm-up's daemon waits for it, and ends with its process.
                Restorer.Restored r = Restorer.restore(new Restorer.Options(dest, true, sock, true, stub));
                restored = r.pid();
                long joinEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (daemon.isAlive() && System.nanoTime() < joinEnd) {
                    daemon.join(10);
                    if (stopped.getAsBoolean() && restored > 0) {
                        Ptrace.killAndReap(restored); // its daemon sees it gone and ends
                        restored = -1;
                        daemon.join(5_000);
                        r.handoff().close();
                        throw new StoppedException();
                    }
                }
                r.handoff().close();
                if (daemon.isAlive() || failure[0] != null) {
                    throw new IOException("the daemon did not finish: " + failure[0]);
                }
                server.close();
                serving.join(5_000);
            }
            QuietThreads.quiet(wasQuiet);
            log.info("{}: warmed up in {} ms (a {}-thread process migrated lazily over loopback in this JVM)", who,
                    (System.nanoTime() - t0) / 1_000_000, threads);
            return true;
        } catch (StoppedException e) {
            QuietThreads.quiet(wasQuiet);
            log.info("{}: warm-up stopped after {} ms: the real work began", who, (System.nanoTime() - t0) / 1_000_000);
            return false;
        } catch (IOException | RuntimeException | InterruptedException e) {
            QuietThreads.quiet(wasQuiet);
            log.warn("{}: warm-up failed ({}); the migration runs on a cold JVM", who, e.getMessage());
            return false;
        } finally {
            QuietThreads.quiet(wasQuiet);
            for (int pid : new int[] {restored, sleeper}) {
                if (pid > 0) {
                    try {
                        Ptrace.killAndReap(pid);
                    } catch (IOException ignored) {
                        // gone already
                    }
                }
            }
            if (dir != null) {
                deleteTree(dir);
            }
        }
    }

    /** How long, at most, the warm-up reads its checkpoint again ({@link #readAgain}), and how many times. */
    private static final long READ_AGAIN_NANOS = 1_500_000_000L;
    private static final int READ_AGAIN_TIMES = 100;

    /**
     * The checkpoint read again from memory, as the agent reads a real one, a few times: read once,
     * its per-thread code (each core's parse, checks and conversion) ran 32 times, mostly
     * interpreted, and the agent's first read of a 100-thread process took 68-78 ms in make bench
     * (the next ones 19-25 ms). 12 reads (384 cores) still left the core's parse far from compiled:
     * a 100-thread process's read took 9-28 ms in make bench, 22 ms the median; parsing 100 cores
     * takes 7 ms after 500 parses, 2.5 ms after 3,000. So 100 reads (3,200 cores, ~0.3-1 s once,
     * before the agent is ready).
     */
    private static void readAgain(Path images, Step step) throws IOException {
        Map<String, byte[]> held = new HashMap<>();
        try (Stream<Path> s = Files.list(images)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(".img") && !name.startsWith("pages-") && Files.isRegularFile(p)) {
                    held.put(name, Files.readAllBytes(p));
                }
            }
        }
        long end = System.nanoTime() + READ_AGAIN_NANOS;
        for (int i = 0; i < READ_AGAIN_TIMES && System.nanoTime() < end; i++) {
            step.check();
            Restorer.readCheckpoint(ImageDir.withMemory(images, held));
        }
    }

    private interface Body {
        Void call() throws Exception;
    }

    private static Thread background(String name, Body body) {
        Thread t = new Thread(() -> {
            try {
                body.call();
            } catch (Exception e) {
                log.debug("warm-up: {} ended: {}", name, e.getMessage());
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * The process the warm-up migrates: {@code lazymig-warmup-target} ({@link DumpWarmup#targetPath})
     * with {@code threads} threads, or a {@code sleep} for 1. Started by a shell that exits at
     * once, like the sleep below.
     */
    private static int startProcess(int threads) throws IOException, InterruptedException {
        if (threads == 1) {
            return startSleeper();
        }
        int pid = DumpWarmup.startTarget(DumpWarmup.targetPath(), threads);
        Path task = Path.of("/proc", Integer.toString(pid), "task");
        for (int i = 0; i < 1000; i++) {
            try (Stream<Path> s = Files.list(task)) {
                if (s.count() == threads) {
                    return pid;
                }
            }
            Thread.sleep(2);
        }
        Ptrace.killAndReap(pid);
        throw new IOException("the warm-up target did not start its " + threads + " threads");
    }

    /**
     * A sleep that is not our child (the shell that starts it exits: the JVM reaps its own children,
     * and would take the tracer's wait notifications), with no fd but /dev/null. 30 s: the dump takes
     * it within a second or two, and one left behind by a killed command ends soon.
     */
    private static int startSleeper() throws IOException, InterruptedException {
        Process sh = new ProcessBuilder("sh", "-c", "sleep 30 </dev/null >/dev/null 2>&1 & echo $!")
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

    /** Removes a warm-up's directory; a failure only leaves it behind. */
    static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.debug("warm-up: cannot remove {}: {}", dir, e.getMessage());
        }
    }
}
