package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.IntervalTimer;
import io.lazymig.images.PosixTimer;
import io.lazymig.images.Timers;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dump, then restore, eagerly, lazily and under new tids, of a process with 8 threads and process timers
 * (it/workloads/restore-threads8.c): ITIMER_REAL, ITIMER_VIRTUAL and ITIMER_PROF, whose signals
 * only the napper takes, POSIX timer 1 (SIGEV_THREAD_ID to the thread "target", a sigev value), timer 2
 * (SIGEV_SIGNAL to the process, SIGUSR2, which only main takes) and timer 3 (SIGEV_NONE), ids
 * 1..3 after a timer made and deleted. After restore: /proc/PID/timers is the original, ids and
 * targets included; every timer keeps firing where it should (the counts go on, none lands in a
 * wrong thread or with a wrong value); the SIGEV_NONE timer has left what dump read, less only
 * the time since restore began (the frozen time does not count, as with CRIU); every thread
 * progresses with its mask; a thread is joined and another created and joined on request (the
 * file "go"); the memory checksums are byte-exact throughout.
 */
class RestoreTimersIT {
    /** The names by tid (comm keeps 15 bytes of the program's name). */
    private static final List<String> THREADS = List.of("restore-threads", "ticker", "napper", "waiter1", "waiter2",
            "busy1", "busy2", "target");
    /** What each line counts, one per thread or timer: each must go on after restore. */
    private static final List<String> PROGRESS = List.of("verified", "verified2", "real", "virt", "prof", "posix",
            "usr2", "wakes1", "wakes2", "naps");

    @TempDir
    Path dir;

    @Test
    @Timeout(180)
    void eagerly() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-threads8", "16", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            Before b = dump(c, w);
            long restoreStarted = System.nanoTime();
            c.restore();
            c.awaitRestoredLine();
            assertTimersAndThreadsGoOn(c, w, b, restoreStarted);
            c.assertSameProcState();
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            c.killRestoredAndAwaitRestore();
        }
    }

    /** Lazily from the lazy-pages daemon on this host, which fills every page. */
    @Test
    @Timeout(180)
    void lazily() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-threads8", "64", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            Before b = dump(c, w);
            long lazyPages = Checkpoint.read(c.images).pagemap().lazyPages();
            assertTrue(lazyPages > 16384, "64 MiB should be lazy, got " + lazyPages + " pages");
            Path sock = dir.resolve("lazy.sock");
            RestoreLauncher.Running daemon = c.closeLater(RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), sock,
                    c.images));
            long restoreStarted = System.nanoTime();
            c.restore("--lazy-pages", "--address", sock.toString());
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            c.awaitRestoredLine();
            assertTimersAndThreadsGoOn(c, w, b, restoreStarted);
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertTrue(daemon.log().contains("every page is in"), daemon.log());
            c.restore.awaitLog("process " + w.pid + " has all its pages");
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * {@code dump --lazy-pages} serves the frozen source on loopback; the copy is restored here
     * under another pid (the frozen source holds its own), so every thread gets a new tid: the
     * SIGEV_THREAD_ID timer must signal the new tid of its thread. /proc/PID/timers is the
     * original once tids are mapped by thread name; every timer and thread goes on; checksums equal.
     */
    @Test
    @Timeout(180)
    void servedByTheFrozenSourceUnderNewTids() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-threads8", "16", "100");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            w.awaitLine("counter 2", l -> l.counter() >= 2);
            Map<Long, String> threads = RestoreThreadsIT.threadNames(w.pid);
            assertEquals(THREADS, new ArrayList<>(threads.values()), "the workload's threads, by tid");
            List<String> timersBefore = procTimers(w.pid);
            RestoreLauncher.Running dump = c.closeLater(RestoreLauncher.start(dir.resolve("dump.log"), "dump", "-t",
                    Integer.toString(w.pid), "-D", c.images.toString(), "--lazy-pages", "--port", Integer.toString(port),
                    "--address", "127.0.0.1", "--no-auth", "-v", "3"));
            dump.awaitLog("serving the lazy pages");
            RestoreWorkload.Line last = w.lines().get((int) w.lastCounter());
            Path imagesA = dir.resolve("images-a");
            Path sock = dir.resolve("lazy.sock");
            RestoreLauncher.Running daemon = c.closeLater(RestoreLauncher.start(dir.resolve("daemon.log"), "lazy-pages",
                    "--address", sock.toString(), "-D", imagesA.toString(), "--lazy-client", "127.0.0.1", "--port",
                    Integer.toString(port), "--no-auth", "-v", "3"));
            c.restore = RestoreLauncher.start(dir.resolve("restore.log"), "restore", "-D", imagesA.toString(),
                    "--lazy-pages", "--address", sock.toString(), "--any-pid", "-v", "3");
            String log = c.restore.awaitLog("running after");
            Matcher m = Pattern.compile("restore: process (\\d+) running after")
                    .matcher(log);
            assertTrue(m.find(), log);
            int pid = Integer.parseInt(m.group(1));
            c.closeLater((AutoCloseable) () -> RestoreProcs.killIfExe(pid, w.exe));
            assertTrue(pid != w.pid, "restored under another pid");
            Map<Long, String> now = RestoreThreadsIT.threadNames(pid);
            assertEquals(new ArrayList<>(threads.values()), new ArrayList<>(now.values()), "every thread, by name");
            Map<Long, Long> renamed = new HashMap<>();
            List<Long> oldTids = new ArrayList<>(threads.keySet());
            List<Long> newTids = new ArrayList<>(now.keySet());
            for (int i = 0; i < oldTids.size(); i++) {
                renamed.put(oldTids.get(i), newTids.get(i));
            }
            List<String> expected = new ArrayList<>();
            for (String e : timersBefore) {
                expected.add(Pattern.compile("/(pid|tid)\\.(\\d+);").matcher(e).replaceAll(r ->
                        "/" + r.group(1) + "." + renamed.get(Long.parseLong(r.group(2))) + ";"));
            }
            expected.sort(null);
            assertEquals(expected, procTimers(pid), "/proc/PID/timers with the tids of the restored threads");
            w.awaitLine("every thread and timer past where it was in the copy", l -> l.pid() == pid
                    && PROGRESS.stream().allMatch(k -> l.number(k) > last.number(k) + 2));
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertEquals(0, dump.awaitExit(), dump.log());
            RestoreProcs.awaitGone(w.pid);
            assertNoneWrong(w);
            LazyRestoreIT.assertOnlyRightSums(w, w.lines().get(0).sum());
            assertTrue(RestoreProcs.running(pid), "the copy must run");
            RestoreProcs.killIfExe(pid, w.exe);
            assertEquals(137, c.restore.awaitExit(), c.restore.log());
        }
    }

    /** The process before the dump: threads (tid → name), masks, /proc/PID/timers, the checkpoint's timers, its last line. */
    private record Before(Map<Long, String> threads, Map<Long, String> masks, List<String> procTimers, Timers timers,
            RestoreWorkload.Line last) {
    }

    private static Before dump(RestoreCycle c, RestoreWorkload w) throws Exception {
        w.awaitLine("counter 2", l -> l.counter() >= 2);
        Map<Long, String> threads = RestoreThreadsIT.threadNames(w.pid);
        assertEquals(THREADS, new ArrayList<>(threads.values()), "the workload's threads, by tid");
        Map<Long, String> masks = masks(w.pid, threads);
        List<String> procTimers = procTimers(w.pid);
        c.dump(3, true);
        Timers t = Checkpoint.read(c.images).root().state().timers();
        long target = tidOf(threads, "target");
        assertEquals(List.of(1, 2, 3), t.posix().stream().map(PosixTimer::id).toList(), "the ids, the gap at 0 kept");
        PosixTimer toTarget = t.posix().get(0);
        assertEquals(PosixTimer.SIGEV_SIGNAL | PosixTimer.SIGEV_THREAD_ID, toTarget.sigevNotify());
        assertEquals(target, toTarget.notifyTid());
        assertEquals(0xfeed, toTarget.sigevValue());
        assertEquals(20_000_000, toTarget.intervalNsec());
        assertTrue(toTarget.isArmed());
        assertEquals(PosixTimer.SIGEV_SIGNAL, t.posix().get(1).sigevNotify());
        assertEquals(50_000_000, t.posix().get(1).intervalNsec());
        PosixTimer quiet = t.posix().get(2);
        assertEquals(PosixTimer.SIGEV_NONE, quiet.sigevNotify());
        assertTrue(quiet.isArmed() && quiet.valueSec() < 1000, "the SIGEV_NONE timer runs: " + quiet);
        assertEquals(new IntervalTimer(0, 10_000, 0, 0), new IntervalTimer(t.real().intervalSec(),
                t.real().intervalUsec(), 0, 0), "ITIMER_REAL's interval");
        assertEquals(100_000, t.virt().intervalUsec(), "ITIMER_VIRTUAL's interval");
        assertEquals(50_000, t.prof().intervalUsec(), "ITIMER_PROF's interval");
        return new Before(threads, masks, procTimers, t, w.lines().get((int) c.lastBefore));
    }

    private static void assertTimersAndThreadsGoOn(RestoreCycle c, RestoreWorkload w, Before b, long restoreStarted)
            throws Exception {
        // The first line after restore may have read the timer before the dump (main was frozen between
        // its timer_gettime and its printf); the second read it after restore.
        RestoreWorkload.Line first = w.awaitLine("the second line after restore", l -> l.counter() > c.lastBefore + 1);
        long sinceRestore = System.nanoTime() - restoreStarted;
        PosixTimer quiet = b.timers().posix().get(2);
        long leftAtDump = quiet.valueSec() * 1_000_000_000L + quiet.valueNsec();
        long left = first.number("none_ms") * 1_000_000L;
        assertTrue(left <= leftAtDump, "the SIGEV_NONE timer has " + left + " ns left, more than the " + leftAtDump
                + " at dump");
        assertTrue(left + 1_000_000 >= leftAtDump - sinceRestore, "the SIGEV_NONE timer has " + left
                + " ns left: it lost more than the " + sinceRestore + " ns since restore began (" + leftAtDump
                + " at dump)");

        assertEquals(b.procTimers(), procTimers(w.pid), "/proc/PID/timers: the same ids, signals, targets, clocks");
        assertEquals(b.threads(), RestoreThreadsIT.threadNames(w.pid), "every thread back with its tid and name");
        assertEquals(b.masks(), masks(w.pid, b.threads()), "every thread's blocked mask");
        RestoreWorkload.Line last = b.last();
        w.awaitLine("every thread and timer past where it was", l -> l.pid() == w.pid && l.counter() > last.counter()
                && PROGRESS.stream().allMatch(k -> l.number(k) > last.number(k) + 2));
        assertNoneWrong(w);

        Files.writeString(c.dir.resolve("go"), "");
        w.awaitRaw("joined late");
        List<String> raw = w.rawLines();
        int joined = raw.indexOf("joined waiter2");
        assertTrue(joined >= 0 && joined < raw.indexOf("late ran") && raw.indexOf("late ran") < raw.indexOf("joined late"),
                "join, then the new thread, then its join:\n" + String.join("\n", raw));
        long n = w.lastCounter();
        RestoreWorkload.Line later = w.awaitLine("counter " + (n + 3), l -> l.counter() >= n + 3);
        assertFalse(RestoreThreadsIT.threadNames(w.pid).containsValue("waiter2"), "waiter2 was joined");
        w.awaitLine("the timers still firing", l -> l.counter() > later.counter() && l.number("real") > later.number("real")
                && l.number("posix") > later.number("posix") && l.number("usr2") > later.number("usr2")
                && l.number("prof") > later.number("prof"));
        assertNoneWrong(w);
        c.assertOneContinuousRun(w.pid);
    }

    private static void assertNoneWrong(RestoreWorkload w) throws IOException {
        assertFalse(w.text().contains("MISMATCH"), w.text());
        for (RestoreWorkload.Line l : w.lines()) {
            assertEquals(0, l.number("wrong"), "a POSIX timer signal reached another thread or had a wrong value: "
                    + l.raw());
        }
    }

    private static long tidOf(Map<Long, String> threads, String name) {
        return threads.entrySet().stream().filter(e -> e.getValue().equals(name)).findFirst().orElseThrow().getKey();
    }

    /** /proc/PID/timers as its 4-line entries, sorted (the kernel lists them in hash order). */
    private static List<String> procTimers(int pid) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc", Integer.toString(pid), "timers"));
        List<String> entries = new ArrayList<>();
        for (int i = 0; i + 4 <= lines.size(); i += 4) {
            entries.add(String.join("; ", lines.subList(i, i + 4)));
        }
        entries.sort(null);
        assertEquals(3, entries.size(), "three POSIX timers: " + lines);
        return entries;
    }

    private static Map<Long, String> masks(int pid, Map<Long, String> threads) throws IOException {
        Map<Long, String> out = new LinkedHashMap<>();
        for (long tid : threads.keySet()) {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "task", Long.toString(tid),
                    "status"))) {
                if (line.startsWith("SigBlk:")) {
                    out.put(tid, line.substring(7).trim());
                }
            }
        }
        return out;
    }
}
