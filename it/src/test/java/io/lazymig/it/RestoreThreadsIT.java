package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ThreadState;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dump, then restore of multi-threaded processes through the real commands: every thread comes
 * back with its tid, name and blocked mask, and goes on computing right. The C program
 * (it/workloads/restore-threads.c) has threads in futex waits (a condition variable,
 * pthread_join), in clock_nanosleep and in a busy loop with its state in TLS; after restore a
 * SIGUSR1, taken only by the thread that unblocks it, ends one thread, whose joiner wakes
 * (clear_child_tid restored) and creates and joins a new thread. python3 runs four
 * threading.Threads stepping SHA-256 chains that the main thread checks. The pthread program is
 * also restored lazily: from the lazy-pages daemon on this host, and served by
 * {@code dump --lazy-pages} from the frozen source over loopback.
 */
class RestoreThreadsIT {
    private static final List<String> THREADS = List.of("restore-threads", "ticker", "busy", "finisher", "joiner");

    @TempDir
    Path dir;

    @Test
    @Timeout(180)
    void pthreadProgram() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-threads", "16", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            Before b = dumpThreads(c, w);
            c.restore();
            c.awaitRestoredLine();
            assertSameThreads(w.pid, b);
            assertThreadsGoOn(w, w.pid, b);
            c.assertSameProcState();
            c.assertOneContinuousRun(w.pid);
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * Lazily from the lazy-pages daemon on this host: every thread faults on the same uffd (main
     * reads the 64 MiB buffer, the others their stacks and TLS); the memory arrives byte-exact
     * and the daemon fills every page.
     */
    @Test
    @Timeout(180)
    void pthreadProgramLazily() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-threads", "64", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            Before b = dumpThreads(c, w);
            long lazyPages = Checkpoint.read(c.images).pagemap().lazyPages();
            assertTrue(lazyPages > 16384, "64 MiB should be lazy, got " + lazyPages + " pages");
            RestoreLauncher.Running daemon = c.restoreFromLocalDaemon();
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            c.awaitRestoredLine();
            assertSameThreads(w.pid, b);
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertTrue(daemon.log().contains("every page is in"), daemon.log());
            c.restore.awaitLog("process " + w.pid + " has all its pages");
            assertThreadsGoOn(w, w.pid, b);
            LazyRestoreIT.assertOnlyRightSums(w, b.sum());
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * {@code dump --lazy-pages} serves the frozen multi-threaded source on loopback; a daemon
     * fetches its images and pages and restore runs the copy here under another pid (the frozen
     * source holds its own), so its threads get new tids. The copy goes on byte-exact with every
     * thread; the source is killed once the daemon has every page.
     */
    @Test
    @Timeout(180)
    void pthreadProgramServedByTheFrozenSource() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-threads", "64", "100");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            w.awaitLine("counter 2", l -> l.counter() >= 2);
            Before noted = before(w);
            RestoreLauncher.Running dump = c.closeLater(RestoreLauncher.start(dir.resolve("dump.log"), "dump", "-t",
                    Integer.toString(w.pid), "-D", c.images.toString(), "--lazy-pages", "--port", Integer.toString(port),
                    "--address", "127.0.0.1", "--no-auth", "-v", "3"));
            dump.awaitLog("serving the lazy pages");
            long lastBefore = w.lastCounter();
            Before b = noted.at(lastBefore, verified(w.lines().get((int) lastBefore)));
            Path imagesA = dir.resolve("images-a");
            Path sock = dir.resolve("lazy.sock");
            RestoreLauncher.Running daemon = c.closeLater(RestoreLauncher.start(dir.resolve("daemon.log"), "lazy-pages",
                    "--address", sock.toString(), "-D", imagesA.toString(), "--lazy-client", "127.0.0.1", "--port",
                    Integer.toString(port), "--no-auth", "-v", "3"));
            c.restore = RestoreLauncher.start(dir.resolve("restore.log"), "restore", "-D", imagesA.toString(),
                    "--lazy-pages", "--address", sock.toString(), "--any-pid", "-v", "3");
            String log = c.restore.awaitLog("running after");
            Matcher m = Pattern.compile("restore: process (\\d+) running after").matcher(log);
            assertTrue(m.find(), log);
            int pid = Integer.parseInt(m.group(1));
            c.closeLater((AutoCloseable) () -> RestoreProcs.killIfExe(pid, w.exe));
            assertNotEquals(w.pid, pid);
            w.awaitLine("a line of the copy", l -> l.pid() == pid);
            // new tids under --any-pid need not keep their order (the pid counter may wrap between them)
            assertEquals(leaderThenSorted(b.names()), namesLeaderFirst(pid), "every thread, by name");
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertEquals(0, dump.awaitExit(), dump.log());
            RestoreProcs.awaitGone(w.pid);
            assertThreadsGoOn(w, pid, b);
            LazyRestoreIT.assertOnlyRightSums(w, b.sum());
            List<RestoreWorkload.Line> lines = w.lines();
            for (int i = 0; i < lines.size(); i++) {
                assertEquals(i, lines.get(i).counter(), "one continuous run across the two pids:\n" + w.text());
            }
            assertTrue(RestoreProcs.running(pid), "the copy must run");
            RestoreProcs.killIfExe(pid, w.exe);
            assertEquals(137, c.restore.awaitExit(), c.restore.log());
        }
    }

    @Test
    @Timeout(180)
    void pythonThreads() throws Exception {
        Path script = RestoreWorkload.root().resolve("it/workloads/restore_threads.py");
        RestoreWorkload w = RestoreWorkload.start(dir, "restore_threads",
                List.of("/usr/bin/python3", script.toString(), "16", "100", "4"));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            w.awaitLine("counter 2", l -> l.counter() >= 2);
            Map<Long, String> names = threadNames(w.pid);
            assertEquals(5, names.size(), "main and four workers: " + names);
            c.dump(3, true);
            long verifiedBefore = verified(w.lines().get((int) c.lastBefore));

            c.restore();
            c.awaitRestoredLine();
            assertEquals(names, threadNames(w.pid), "every thread back with its tid and name");
            w.awaitLine("chain steps checked after restore", l -> l.counter() > c.lastBefore + 2
                    && verified(l) > verifiedBefore);
            assertFalse(w.text().contains("MISMATCH"), w.text());
            c.assertSameProcState();
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    /** What the process showed before the dump: its threads (names in tid order), masks, sum; its last line. */
    private record Before(List<String> names, List<Long> tids, Map<Long, String> masks, String sum, long lastBefore,
            long verifiedBefore) {
        Before at(long last, long verified) {
            return new Before(names, tids, masks, sum, last, verified);
        }
    }

    private static Before before(RestoreWorkload w) throws IOException {
        Map<Long, String> names = threadNames(w.pid);
        assertEquals(THREADS, new ArrayList<>(names.values()), "the workload's threads, by tid");
        return new Before(List.copyOf(names.values()), List.copyOf(names.keySet()), masks(w.pid, names.keySet()),
                w.lines().get(0).sum(), -1, -1);
    }

    /** Waits for counter 2, notes the threads, dumps (killing the process); checks each thread's clear_child_tid. */
    private static Before dumpThreads(RestoreCycle c, RestoreWorkload w) throws Exception {
        w.awaitLine("counter 2", l -> l.counter() >= 2);
        Before b = before(w);
        c.dump(3, true);
        Checkpoint cp = Checkpoint.read(c.images);
        List<Long> tids = new ArrayList<>();
        for (ThreadState t : cp.root().threads()) {
            tids.add((long) t.tid());
            // glibc sets one in every thread: the address of its pthread->tid
            assertTrue(t.clearTidAddress() != 0, "thread " + t.tid() + " has a clear_child_tid address");
        }
        assertEquals(b.tids(), tids, "the checkpoint's threads");
        return b.at(c.lastBefore, verified(w.lines().get((int) c.lastBefore)));
    }

    /** Every thread back with its tid, name and blocked mask, and untraced. */
    private static void assertSameThreads(int pid, Before b) throws IOException {
        Map<Long, String> names = threadNames(pid);
        assertEquals(b.tids(), new ArrayList<>(names.keySet()), "every thread back with its tid");
        assertEquals(b.names(), new ArrayList<>(names.values()), "every thread's name");
        assertEquals(b.masks(), masks(pid, names.keySet()), "every thread's blocked mask");
        for (long tid : names.keySet()) {
            assertEquals("0", taskStatus(pid, tid, "TracerPid"), "thread " + tid + " must not stay traced");
        }
    }

    /**
     * The restored process {@code pid} goes on: the busy thread's steps are checked past where they
     * were; a SIGUSR1 (taken by the ticker only) ends the finisher, whose joiner wakes, creates a
     * thread and joins it; then finisher and joiner are gone and the counting goes on, right.
     */
    private static void assertThreadsGoOn(RestoreWorkload w, int pid, Before b) throws Exception {
        w.awaitLine("a busy step checked after restore", l -> l.pid() == pid && l.counter() > b.lastBefore()
                && verified(l) > b.verifiedBefore());
        RestoreEagerIT.kill(pid, "USR1");
        w.awaitRaw("joined late");
        List<String> raw = w.rawLines();
        int joined = raw.indexOf("joined finisher");
        assertTrue(joined >= 0 && joined < raw.indexOf("late ran") && raw.indexOf("late ran") < raw.indexOf("joined late"),
                "join, then the new thread, then its join:\n" + String.join("\n", raw));
        List<String> left = new ArrayList<>(b.names());
        left.removeAll(List.of("finisher", "joiner"));
        awaitThreadNames(pid, leaderThenSorted(left));
        long n = w.lastCounter();
        w.awaitLine("counter " + (n + 3), l -> l.counter() >= n + 3);
        assertFalse(w.text().contains("MISMATCH"), w.text());
    }

    private static long verified(RestoreWorkload.Line l) {
        return Long.parseLong(l.fields().get("verified"));
    }

    private static void awaitThreadNames(int pid, List<String> expected) throws Exception {
        long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000L;
        List<String> last = null;
        while (System.nanoTime() < end) {
            last = namesLeaderFirst(pid);
            if (last.equals(expected)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("threads of " + pid + ": expected " + expected + ", last " + last);
    }

    private static Map<Long, String> masks(int pid, Iterable<Long> tids) throws IOException {
        Map<Long, String> out = new LinkedHashMap<>();
        for (long tid : tids) {
            out.put(tid, taskStatus(pid, tid, "SigBlk"));
        }
        return out;
    }

    /** Names listed leader first by tid: the leader's, then the others' sorted (tid order is not kept by --any-pid). */
    private static List<String> leaderThenSorted(List<String> namesByTid) {
        List<String> out = new ArrayList<>(namesByTid.subList(1, namesByTid.size()));
        out.sort(null);
        out.add(0, namesByTid.get(0));
        return out;
    }

    /** The thread names of {@code pid}: the leader's (tid == pid), then the others' sorted. */
    private static List<String> namesLeaderFirst(int pid) throws IOException {
        Map<Long, String> names = threadNames(pid);
        List<String> out = new ArrayList<>();
        names.forEach((tid, name) -> {
            if (tid != pid) {
                out.add(name);
            }
        });
        out.sort(null);
        out.add(0, names.get((long) pid));
        return out;
    }

    /** /proc/PID/task/TID/comm by tid, ascending. */
    static Map<Long, String> threadNames(int pid) throws IOException {
        List<Long> tids = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc", Integer.toString(pid), "task"))) {
            s.forEach(p -> tids.add(Long.parseLong(p.getFileName().toString())));
        }
        tids.sort(null);
        Map<Long, String> out = new LinkedHashMap<>();
        for (long tid : tids) {
            out.put(tid, Files.readString(Path.of("/proc", Integer.toString(pid), "task", Long.toString(tid), "comm")).strip());
        }
        return out;
    }

    private static String taskStatus(int pid, long tid, String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "task", Long.toString(tid), "status"))) {
            if (line.startsWith(key + ":")) {
                return line.substring(key.length() + 1).trim();
            }
        }
        throw new AssertionError("no " + key + " in the status of thread " + tid);
    }
}
