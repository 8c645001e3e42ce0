package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.FdSlot;
import io.lazymig.images.Fifo;
import io.lazymig.images.FileObject;
import io.lazymig.images.Pipe;
import io.lazymig.images.ProcessImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pipes whose ends live in different processes of a tree (it/workloads/pipeline-stage.c), dumped
 * with bytes in flight and restored eagerly and lazily on the same host: a shell pipeline of three
 * stages ({@code sh -c 'produce | filter | consume LOG'}) and a parent talking both ways with its
 * child over two pipes. Each checker (the consumer, the parent) verifies every record once and in
 * order with its hashes, and logs a running checksum every 2,000 records: after restore its log goes
 * on from where it was, with no BAD line (a record lost, doubled or damaged in a pipe would be one).
 */
class RestoreTreePipesIT {
    private static final long PATIENCE_MS = 30_000;
    private static final Pattern LINE = Pattern.compile("pid (\\d+) counter \\d+ seq (\\d+) sum [0-9a-f]+ ok(?: child \\d+)?");

    @TempDir
    Path dir;

    private final List<Integer> pids = new ArrayList<>();
    /** The exe of each process of the tree, as started (a pid is killed only while it still runs it). */
    private final Map<Integer, String> exes = new HashMap<>();

    @AfterEach
    void killTree() throws Exception {
        for (int pid : pids) {
            RestoreProcs.killIfExe(pid, exes.get(pid));
        }
    }

    private void track(List<Integer> tree) throws IOException {
        for (int pid : tree) {
            pids.add(pid);
            exes.put(pid, RestoreProcs.exe(pid));
        }
    }

    @Test
    @Timeout(180)
    void pipelineEager() throws Exception {
        pipeline(false);
    }

    @Test
    @Timeout(180)
    void pipelineLazy() throws Exception {
        pipeline(true);
    }

    /**
     * The first stage writes into a FIFO the second reads ({@code produce > FIFO & filter < FIFO |
     * consume}): the FIFO's bytes are put back once, by the first of the two processes restored.
     */
    @Test
    @Timeout(180)
    void fifoPipelineEager() throws Exception {
        String stage = Workloads.path("pipeline-stage");
        Path log = dir.resolve("consumer.log");
        Path fifo = dir.resolve("fifo");
        try (Workload w = Workload.shell("mkfifo " + fifo + "; " + stage + " produce >" + fifo + " & " + stage + " filter <" + fifo + " | " + stage
                + " consume " + log)) {
            awaitSeqAbove(log, 4000);
            track(List.of(w.pid));
            track(children(w.pid));
            assertEquals(3, pids.size() - 1, "sh has its three stages as children: " + pids);
            migrateAndCheck(w.pid, log, false, 4, 1);
        }
    }

    @Test
    @Timeout(180)
    void bothWaysEager() throws Exception {
        bothWays(false);
    }

    @Test
    @Timeout(180)
    void bothWaysLazy() throws Exception {
        bothWays(true);
    }

    private void pipeline(boolean lazy) throws Exception {
        String stage = Workloads.path("pipeline-stage");
        Path log = dir.resolve("consumer.log");
        try (Workload w = Workload.shell(stage + " produce | " + stage + " filter | " + stage + " consume " + log)) {
            awaitSeqAbove(log, 4000);
            track(List.of(w.pid));
            track(children(w.pid));
            assertEquals(3, pids.size() - 1, "sh has its three stages as children: " + pids);
            migrateAndCheck(w.pid, log, lazy, 4, 2);
        }
    }

    private void bothWays(boolean lazy) throws Exception {
        Path log = dir.resolve("pair.log");
        try (Workload w = Workload.c("pipeline-stage", "pair", log.toString())) {
            awaitSeqAbove(log, 4000);
            track(List.of(w.pid));
            track(children(w.pid));
            assertEquals(1, pids.size() - 1, "the parent has its child: " + pids);
            migrateAndCheck(w.pid, log, lazy, 2, 2);
        }
    }

    /**
     * Dumps the tree of {@code root} ({@code processes} processes, {@code crossing} pipes whose ends
     * lie in two different ones, bytes in at least one), restores it, and checks the checker's log.
     */
    private void migrateAndCheck(int root, Path log, boolean lazy, int processes, int crossing) throws Exception {
        Path images = dir.resolve("images");
        LazymigCli.Result d = LazymigCli.run("dump", "-t", Integer.toString(root), "-D", images.toString());
        assertEquals(0, d.exit(), d.toString());
        Checkpoint cp = Checkpoint.read(images);
        assertEquals(processes, cp.processes().size());
        Map<Integer, Set<Integer>> holders = new HashMap<>();
        long inFlight = 0;
        Set<Integer> seen = new HashSet<>();
        for (ProcessImage p : cp.processes()) {
            for (FdSlot s : p.fds()) {
                FileObject f = cp.file(s.fileId());
                if (f instanceof Fifo ff) {
                    assertTrue(ff.buffer().length() > 0, "bytes in flight in " + ff.describe());
                }
                if (f instanceof Pipe pipe) {
                    assertFalse(pipe.external(), pipe.describe());
                    holders.computeIfAbsent(pipe.pipeId(), k -> new HashSet<>()).add(p.pid());
                    if (seen.add(pipe.pipeId())) {
                        inFlight += pipe.buffer().length();
                    }
                }
            }
        }
        assertEquals(crossing, holders.values().stream().filter(h -> h.size() == 2).count(),
                "pipes between two processes: " + holders);
        assertTrue(inFlight > 0, "bytes in flight in the pipes at dump");
        for (int pid : pids) {
            RestoreProcs.awaitGone(pid);
        }
        long dumpedSeq = lastSeq(log);
        int checker = lastPid(log);
        Path socket = dir.resolve("lazy.sock");
        try (RestoreLauncher.Running daemon = lazy ? RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), socket,
                images) : null;
             RestoreLauncher.Running r = lazy
                     ? RestoreLauncher.start(dir.resolve("restore.log"), "restore", "--lazy-pages", "--address",
                             socket.toString(), "-D", images.toString(), "-v", "3")
                     : RestoreLauncher.start(dir.resolve("restore.log"), "restore", "-D", images.toString(), "-v", "3")) {
            r.awaitLog("restore: process " + root + " running after");
            // well past the bytes in flight at dump (at most a few thousand records per pipe)
            awaitSeqAbove(log, dumpedSeq + 20_000);
            if (lazy) {
                daemon.awaitLog("lazy-pages: every page is in");
                assertEquals(0, daemon.awaitExit(), daemon.log());
            }
            for (int pid : pids) {
                assertTrue(RestoreProcs.running(pid), "process " + pid + " of the tree runs on");
            }
            List<String> text = Files.readAllLines(log);
            long expected = 2000;
            for (String s : text) {
                Matcher m = LINE.matcher(s);
                assertTrue(m.matches(), "every record once, in order, its hashes right: " + s);
                assertEquals(expected, Long.parseLong(m.group(2)), "one continuous run: " + s);
                assertEquals(checker, Integer.parseInt(m.group(1)), "the same checker, restored: " + s);
                expected += 2000;
            }
        }
    }

    private static List<Integer> children(int pid) throws IOException {
        List<Integer> out = new ArrayList<>();
        String text = Files.readString(Path.of("/proc", Integer.toString(pid), "task", Integer.toString(pid),
                "children")).trim();
        for (String c : text.split("\\s+")) {
            if (!c.isEmpty()) {
                out.add(Integer.parseInt(c));
            }
        }
        return out;
    }

    private static long lastSeq(Path log) throws IOException {
        List<String> text;
        try {
            text = Files.readAllLines(log);
        } catch (NoSuchFileException e) {
            return -1;
        }
        long last = -1;
        for (String s : text) {
            if (s.contains("BAD")) {
                fail(log + ": " + s);
            }
            Matcher m = LINE.matcher(s);
            if (m.matches()) {
                last = Long.parseLong(m.group(2));
            }
        }
        return last;
    }

    private static int lastPid(Path log) throws IOException {
        List<String> text = Files.readAllLines(log);
        Matcher m = LINE.matcher(text.get(text.size() - 1));
        assertTrue(m.matches(), text.get(text.size() - 1));
        return Integer.parseInt(m.group(1));
    }

    private static void awaitSeqAbove(Path log, long seq) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (lastSeq(log) <= seq) {
            if (System.nanoTime() > end) {
                fail(log + " not past record " + seq + " in " + PATIENCE_MS + " ms:\n"
                        + (Files.exists(log) ? Files.readString(log) : "(none)"));
            }
            Thread.sleep(20);
        }
    }
}
