package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ThreadState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dump, then eager restore of multi-threaded processes through the real commands: every thread
 * comes back with its tid, name and blocked mask, and goes on computing right. The C program
 * (it/workloads/restore-threads.c) has threads in futex waits (a condition variable,
 * pthread_join), in clock_nanosleep and in a busy loop with its state in TLS; after restore a
 * SIGUSR1, taken only by the thread that unblocks it, ends one thread, whose joiner wakes
 * (clear_child_tid restored) and creates and joins a new thread. python3 runs four
 * threading.Threads stepping SHA-256 chains that the main thread checks.
 */
class RestoreThreadsIT {
    @TempDir
    Path dir;

    @Test
    @Timeout(180)
    void pthreadProgram() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-threads", "16", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            w.awaitLine("counter 2", l -> l.counter() >= 2);
            Map<Long, String> names = threadNames(w.pid);
            assertEquals(List.of("restore-threads", "ticker", "busy", "finisher", "joiner"),
                    new ArrayList<>(names.values()), "the workload's threads, by tid");
            Map<Long, String> masks = masks(w.pid, names);
            c.dump(3, true);
            long verifiedBefore = verified(w.lines().get((int) c.lastBefore));
            assertClearTidDumped(c.images, names);

            c.restore();
            c.awaitRestoredLine();
            assertEquals(names, threadNames(w.pid), "every thread back with its tid and name");
            assertEquals(masks, masks(w.pid, names), "every thread's blocked mask");
            for (long tid : names.keySet()) {
                assertEquals("0", taskStatus(w.pid, tid, "TracerPid"), "thread " + tid + " must not stay traced");
            }
            // The busy thread goes on from where it was (main checks every state it publishes).
            w.awaitLine("a busy step checked after restore", l -> l.counter() > c.lastBefore && verified(l) > verifiedBefore);
            c.assertSameProcState();

            RestoreEagerIT.kill(w.pid, "USR1");
            w.awaitRaw("joined late");
            List<String> raw = w.rawLines();
            int joined = raw.indexOf("joined finisher");
            assertTrue(joined >= 0 && joined < raw.indexOf("late ran") && raw.indexOf("late ran") < raw.indexOf("joined late"),
                    "join, then the new thread, then its join:\n" + String.join("\n", raw));
            Map<Long, String> left = new LinkedHashMap<>(names);
            left.values().removeIf(n -> n.equals("finisher") || n.equals("joiner"));
            awaitThreads(w.pid, left);
            w.awaitLine("counter " + (c.lastBefore + 5), l -> l.counter() >= c.lastBefore + 5);
            assertFalse(w.text().contains("MISMATCH"), w.text());
            c.assertOneContinuousRun(w.pid);
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            c.killRestoredAndAwaitRestore();
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

    /** Each thread's clear_child_tid was dumped: glibc's pthread->tid, which holds the tid itself. */
    private static void assertClearTidDumped(Path images, Map<Long, String> names) throws IOException {
        Checkpoint cp = Checkpoint.read(images);
        List<Long> tids = new ArrayList<>();
        for (ThreadState t : cp.root().threads()) {
            tids.add((long) t.tid());
            assertTrue(t.clearTidAddress() != 0, "thread " + t.tid() + " has a clear_child_tid address");
        }
        assertEquals(new ArrayList<>(names.keySet()), tids, "the checkpoint's threads");
    }

    private static long verified(RestoreWorkload.Line l) {
        return Long.parseLong(l.raw().split(" ")[7]);
    }

    private static void awaitThreads(int pid, Map<Long, String> expected) throws Exception {
        long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000L;
        Map<Long, String> last = null;
        while (System.nanoTime() < end) {
            last = threadNames(pid);
            if (last.equals(expected)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("threads of " + pid + ": expected " + expected + ", last " + last);
    }

    private static Map<Long, String> masks(int pid, Map<Long, String> names) throws IOException {
        Map<Long, String> out = new LinkedHashMap<>();
        for (long tid : names.keySet()) {
            out.put(tid, taskStatus(pid, tid, "SigBlk"));
        }
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
