package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.CarriedFile;
import io.lazymig.images.Checkpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM (it/workloads/JvmChecksum.java: a pool of 4 workers checksumming their slices of a heap
 * array and allocating all the time) dumped and restored on this host, eagerly with the serial
 * collector and lazily with the default one. Its perf-data file /tmp/hsperfdata_root/PID is mapped
 * shared; it is deleted after the dump (as any JVM starting here would do once the pid is dead),
 * so restore must recreate it from the images, take the JVM's flock on it again (held through the
 * mapping; any JVM starting on the host deletes an unlocked one) and the restored JVM must keep
 * writing that file: jstat, which reads only the file, sees the collection count grow. Every worker goes on from its
 * own last round with its own checksum, and the collector runs after restore.
 */
class RestoreJvmIT {
    private static final int WORKERS = 4;

    @TempDir
    Path dir;

    @Test
    @Timeout(180)
    void serialCollectorEagerly() throws Exception {
        RestoreWorkload w = jvm(dir, "-XX:+UseSerialGC");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            Map<Integer, RestoreWorkload.Line> before = dumpAndDeletePerfData(c, w);
            c.restore();
            c.restore.awaitLog("restore: recreated " + perfData(w.pid) + " (");
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            assertGoesOn(w, before);
            assertPerfDataLive(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    @Test
    @Timeout(180)
    void defaultCollectorLazily() throws Exception {
        RestoreWorkload w = jvm(dir);
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            Map<Integer, RestoreWorkload.Line> before = dumpAndDeletePerfData(c, w);
            assertTrue(Checkpoint.read(c.images).pagemap().lazyPages() > 4096, "the 16 MiB array should be lazy");
            RestoreLauncher.Running daemon = c.restoreFromLocalDaemon();
            c.restore.awaitLog("restore: recreated " + perfData(w.pid) + " (");
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertTrue(daemon.log().contains("every page is in"), daemon.log());
            assertGoesOn(w, before);
            assertPerfDataLive(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    /** java -Xmx64m OPTS -cp WORKLOADS/java JvmChecksum 16 4 100, started in {@code dir}. */
    static RestoreWorkload jvm(Path dir, String... opts) throws IOException, InterruptedException {
        Path classes = Path.of(System.getProperty("lazymig.workloads"), "java");
        assertTrue(Files.isRegularFile(classes.resolve("JvmChecksum.class")), "JvmChecksum is not built in " + classes);
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/java", "-Xmx64m"));
        cmd.addAll(List.of(opts));
        cmd.addAll(List.of("-cp", classes.toString(), "JvmChecksum", "16", Integer.toString(WORKERS), "100"));
        return RestoreWorkload.start(dir, "jvm", cmd);
    }

    static Path perfData(int pid) {
        return Path.of("/tmp/hsperfdata_root", Integer.toString(pid));
    }

    /**
     * Waits until every worker printed round 3, dumps (the JVM is killed), checks the perf-data file
     * travels in the images and deletes it; returns each worker's last line before the dump.
     */
    private static Map<Integer, RestoreWorkload.Line> dumpAndDeletePerfData(RestoreCycle c, RestoreWorkload w)
            throws Exception {
        for (int k = 0; k < WORKERS; k++) {
            int worker = k;
            w.awaitLine("worker " + worker + " counter 3", l -> l.number("worker") == worker && l.counter() >= 3);
        }
        c.dump(1, true);
        Map<Integer, RestoreWorkload.Line> before = lastByWorker(w.lines());
        assertEquals(WORKERS, before.size(), w.text());
        Checkpoint cp = Checkpoint.read(c.images);
        String perf = perfData(w.pid).toString();
        CarriedFile carried = cp.carried().stream().filter(f -> f.path().equals(perf)).findFirst()
                .orElseThrow(() -> new AssertionError("the perf-data file does not travel: " + cp.carried()));
        assertTrue(cp.vmas().stream().anyMatch(v -> perf.equals(v.path()) && (v.flags() & 1) != 0),
                "the perf-data file is mapped shared");
        assertTrue(cp.locks().stream().anyMatch(l -> l.path().equals(perf) && l.viaMapping() && l.exclusive()),
                "the JVM's flock on its perf-data file, held through the mapping: " + cp.locks());
        Files.deleteIfExists(perfData(w.pid));
        assertTrue(carried.size() > 0);
        return before;
    }

    private static Map<Integer, RestoreWorkload.Line> lastByWorker(List<RestoreWorkload.Line> lines) {
        Map<Integer, RestoreWorkload.Line> last = new TreeMap<>();
        for (RestoreWorkload.Line l : lines) {
            last.put((int) l.number("worker"), l);
        }
        return last;
    }

    /**
     * Every worker prints three more rounds, from the one after its last before the dump, each
     * round once, with its checksum of before; the collector counts more collections than before
     * the dump, and the workers allocate on.
     */
    static void assertGoesOn(RestoreWorkload w, Map<Integer, RestoreWorkload.Line> before) throws Exception {
        long gcBefore = before.values().stream().mapToLong(l -> l.number("gc")).max().orElseThrow();
        for (Map.Entry<Integer, RestoreWorkload.Line> e : before.entrySet()) {
            int worker = e.getKey();
            long last = e.getValue().counter();
            w.awaitLine("worker " + worker + " counter " + (last + 3),
                    l -> l.number("worker") == worker && l.counter() >= last + 3);
        }
        w.awaitLine("a collection after restore", l -> l.number("gc") > gcBefore);
        assertFalse(w.text().contains("MISMATCH"), w.text());
        List<RestoreWorkload.Line> lines = w.lines();
        for (Map.Entry<Integer, RestoreWorkload.Line> e : before.entrySet()) {
            int worker = e.getKey();
            List<RestoreWorkload.Line> mine = lines.stream().filter(l -> l.number("worker") == worker).toList();
            for (int i = 0; i < mine.size(); i++) {
                RestoreWorkload.Line l = mine.get(i);
                assertEquals(i, l.counter(), "worker " + worker + ": each round once, in order:\n" + w.text());
                assertEquals(e.getValue().sum(), l.sum(), "worker " + worker + "'s checksum:\n" + w.text());
                assertEquals(w.pid, l.pid(), w.text());
            }
            RestoreWorkload.Line lastLine = mine.get(mine.size() - 1);
            assertTrue(lastLine.number("alloc") > e.getValue().number("alloc"), "worker " + worker + " allocates on");
        }
    }

    /**
     * The restored JVM writes its perf-data file: jstat (which reads only that file) finds the VM and
     * sees its collection count go past what the workload printed before.
     */
    private static void assertPerfDataLive(int pid) throws Exception {
        assertTrue(Files.isRegularFile(perfData(pid)), perfData(pid) + " after restore");
        long ino = (Long) Files.getAttribute(perfData(pid), "unix:ino");
        List<String> locks = Files.readAllLines(Path.of("/proc/locks"));
        assertTrue(locks.stream().anyMatch(l -> l.matches("\\d+: FLOCK +ADVISORY +WRITE +" + pid + " +[0-9a-f]+:[0-9a-f]+:" + ino
                + " .*")), "the restored JVM holds its flock on " + perfData(pid) + " again (other JVMs delete an unlocked "
                        + "one):\n" + String.join("\n", locks));
        long first = jstatCollections(pid);
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RestoreWorkload.PATIENCE_MS);
        long now = first;
        while (now <= first && System.nanoTime() < end) {
            Thread.sleep(200);
            now = jstatCollections(pid);
        }
        assertTrue(now > first, "jstat saw the collection count stay at " + first);
    }

    /** YGC + FGC of {@code jstat -gcutil PID}. */
    private static long jstatCollections(int pid) throws Exception {
        Process p = new ProcessBuilder("jstat", "-gcutil", Integer.toString(pid)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "jstat did not exit");
        assertEquals(0, p.exitValue(), "jstat: " + out);
        String[] lines = out.strip().split("\n");
        List<String> head = List.of(lines[0].trim().split("\\s+"));
        String[] row = lines[lines.length - 1].trim().split("\\s+");
        return Long.parseLong(row[head.indexOf("YGC")]) + Long.parseLong(row[head.indexOf("FGC")]);
    }
}
