package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/**
 * {@code lazymig dump} of multi-threaded processes (python3 with a threading.Thread; a C program
 * with a sleeping pthread): every thread frozen, one core-TID.img per thread and the thread list
 * in pstree.img, which Debian's crit decodes; each thread's name and mask as /proc showed them;
 * with --leave-running every thread resumes (the counter, printed by a non-leader thread, goes on)
 * and nothing stays traced; each thread's clear_child_tid is dumped. (RestoreThreadsIT restores
 * such checkpoints.)
 */
class DumpThreadsIT {
    @Test
    @Timeout(120)
    void pythonWithAThread() throws Exception {
        try (Workload w = Workload.pythonThreads(50); TmpDir dir = new TmpDir("lazymig-threads-")) {
            w.awaitFirstLine();
            dumpAndCheck(w, dir.resolve("images"));
        }
    }

    @Test
    @Timeout(120)
    void cWithASleepingPthread() throws Exception {
        try (Workload w = Workload.c("unsupported", "thread", "50"); TmpDir dir = new TmpDir("lazymig-threads-")) {
            w.awaitFirstLine();
            dumpAndCheck(w, dir.resolve("images"));
        }
    }

    /**
     * The dump asks each thread its questions by a syscall program ending in an int3, whose SIGTRAP
     * the tracer takes and drops: a SIGTRAP handler stays installed, and a process that ignores
     * SIGTRAP or has one pending (blocked) is asked syscall by syscall, both left as they were.
     */
    @Test
    @Timeout(120)
    void aSigtrapHandlerStaysInstalled() throws Exception {
        long trap = sigtrapAfterDump("signal.signal(signal.SIGTRAP, lambda s, f: None)", "SigCgt");
        assertTrue(trap != 0, "SIGTRAP is still caught");
    }

    @Test
    @Timeout(120)
    void anIgnoredSigtrapStaysIgnored() throws Exception {
        long trap = sigtrapAfterDump("signal.signal(signal.SIGTRAP, signal.SIG_IGN)", "SigIgn");
        assertTrue(trap != 0, "SIGTRAP is still ignored");
    }

    @Test
    @Timeout(120)
    void aPendingSigtrapStaysPending() throws Exception {
        long trap = sigtrapAfterDump("signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTRAP]); "
                + "os.kill(os.getpid(), signal.SIGTRAP)", "ShdPnd");
        assertTrue(trap != 0, "the SIGTRAP sent before the dump is still pending");
    }

    /**
     * A process that refuses writable executable memory (prctl PR_SET_MDWE, memory-deny-write-execute)
     * has no room for syscall programs: its threads are asked syscall by syscall, the answers the same.
     */
    @Test
    @Timeout(120)
    void aProcessDenyingWriteExecuteIsAskedSyscallBySyscall() throws Exception {
        long trap = sigtrapAfterDump("import ctypes; signal.signal(signal.SIGTRAP, lambda s, f: None); "
                + "assert ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) == 0", "SigCgt");
        assertTrue(trap != 0, "SIGTRAP is still caught");
    }

    /** The SIGTRAP bit of /proc/PID/status line {@code key} after a dump --leave-running of python3 with a thread doing {@code setup}. */
    private static long sigtrapAfterDump(String setup, String key) throws Exception {
        String script = String.join("\n",
                "import os, signal, threading, time",
                setup,
                "def work():",
                "    n = 0",
                "    while True:",
                "        print('pid %d counter %d' % (os.getpid(), n), flush=True)",
                "        n += 1",
                "        time.sleep(0.05)",
                "threading.Thread(target=work, daemon=True).start()",
                "while True:",
                "    time.sleep(1)");
        try (Workload w = Workload.shell("exec /usr/bin/python3 -c '" + script.replace("'", "'\\''") + "'");
             TmpDir dir = new TmpDir("lazymig-sigtrap-")) {
            w.awaitFirstLine();
            long before = Long.parseUnsignedLong(taskStatus(w.pid, w.pid, key), 16) & (1L << 4);
            assertTrue(before != 0, key + " has SIGTRAP before the dump");
            LazymigCli.Result r = LazymigCli.run("dump", "-t", Integer.toString(w.pid), "-D",
                    dir.resolve("images").toString(), "--leave-running");
            assertEquals(0, r.exit(), r.toString());
            w.awaitCounterAbove(w.lastLine().counter());
            for (ThreadState t : Checkpoint.read(dir.resolve("images")).root().threads()) {
                assertTrue(t.clearTidAddress() != 0, "thread " + t.tid() + "'s clear_child_tid");
            }
            long after = Long.parseUnsignedLong(taskStatus(w.pid, w.pid, key), 16) & (1L << 4);
            if (!key.equals("ShdPnd")) {
                w.signal(5); // SIGTRAP: caught or ignored, it must not kill the process
                w.awaitCounterAbove(w.lastLine().counter());
            }
            return after;
        }
    }

    private static void dumpAndCheck(Workload w, Path images) throws Exception {
        Map<Long, String> names = threadNames(w.pid);
        assertEquals(2, names.size(), "the workload runs two threads: " + names);
        Map<Long, Long> masks = new LinkedHashMap<>();
        for (long tid : names.keySet()) {
            masks.put(tid, Long.parseUnsignedLong(taskStatus(w.pid, tid, "SigBlk"), 16));
        }

        LazymigCli.Result r = LazymigCli.run("dump", "-t", Integer.toString(w.pid), "-D", images.toString(),
                "--leave-running");
        assertEquals(0, r.exit(), r.toString());

        Crit.Summary s = Crit.summarize(Crit.system(), images);
        List<Long> tids = new ArrayList<>(names.keySet());
        assertEquals(1, s.pstree().size());
        long[] entry = s.pstree().get(0);
        assertEquals(w.pid, entry[0]);
        List<Long> listed = new ArrayList<>();
        for (int i = 4; i < entry.length; i++) {
            listed.add(entry[i]);
        }
        assertEquals(tids, listed, "pstree threads: the leader first, then the other");
        for (long tid : tids) {
            assertTrue(s.decoded().contains("core-" + tid + ".img"), "crit decoded core-" + tid + ".img: " + s.decoded());
        }
        assertEquals(names, s.threadNames(), "thread_core.comm of each core image, as /proc/PID/task/TID/comm");
        assertEquals(names.get((long) w.pid), s.comms().get((long) w.pid), "tc.comm in the leader's core");
        assertEquals("", s.comms().get(tids.get(1)), "a non-leader's core has no tc");

        Checkpoint cp = Checkpoint.read(images);
        List<Long> readTids = new ArrayList<>();
        for (ThreadState t : cp.root().threads()) {
            readTids.add((long) t.tid());
            assertEquals(masks.get((long) t.tid()), t.sigmask(), "thread " + t.tid() + "'s blocked mask");
        }
        assertEquals(tids, readTids, "our reader reads every thread");

        // Left running: untraced, both threads still there, the counter still advancing.
        assertEquals(0, w.tracerPid(), "the process must not stay traced");
        for (long tid : tids) {
            assertEquals("0", taskStatus(w.pid, tid, "TracerPid"), "thread " + tid + " must not stay traced");
        }
        w.awaitCounterAbove(w.lastLine().counter());
        assertEquals(names.keySet(), threadNames(w.pid).keySet(), "both threads still run");

        for (ThreadState t : cp.root().threads()) {
            assertTrue(t.clearTidAddress() != 0, "thread " + t.tid() + "'s clear_child_tid (glibc sets one in each)");
        }

        // Restoring it while it still runs: its pid is taken, and it is left alone.
        LazymigCli.Result restore = LazymigCli.run("restore", "-D", images.toString());
        assertEquals(1, restore.exit(), restore.toString());
        assertEquals("lazymig restore: pid " + w.pid + " is taken on this host; use --any-pid to restore the process"
                + " under another pid\n", restore.stderr(), restore.toString());
        assertTrue(w.alive());
    }

    /** /proc/PID/task/TID/comm by tid, ascending (the leader, whose tid is the pid, first). */
    private static Map<Long, String> threadNames(int pid) throws IOException {
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
