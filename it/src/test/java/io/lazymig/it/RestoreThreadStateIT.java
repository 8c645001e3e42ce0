package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.Sched;
import io.lazymig.images.SigAltStack;
import io.lazymig.images.SigInfo;
import io.lazymig.images.ThreadState;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Cpuid;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-thread state that only the thread itself can set, through dump and restore by the real
 * commands, eagerly and lazily: the alternate signal stack (one thread frozen inside a SA_ONSTACK
 * handler, running on its alternate stack; the leader's registered with SS_AUTODISARM), the
 * signals pending for one thread (tgkill, pthread_sigqueue) and for the whole process (kill,
 * sigqueue twice), all blocked, and each thread's scheduling (nice 2, SCHED_BATCH at nice 7,
 * SCHED_IDLE). The images must hold them as the kernel showed them; after restore /proc shows the
 * same per-task SigPnd, ShdPnd, SigBlk, nice and policy, and the program (it/workloads/
 * restore-thread-state.c), asked by SIGUSR1, checks each thread from inside (sigaltstack,
 * getpriority, sched_getscheduler, sigpending, sigtimedwait with the siginfo and sigqueue values,
 * each signal exactly once and in queue order).
 */
class RestoreThreadStateIT {
    private static final List<String> NAMES = List.of("restore-thread-", "alt", "niced", "idle");
    /** SIGRTMIN as glibc defines it (the kernel's 32 and 33 are glibc's own). */
    private static final int SIGRTMIN = 34;
    private static final int SIGHUP = 1;
    private static final int SIGUSR2 = 12;

    @TempDir
    Path dir;

    @Test
    @Timeout(180)
    void eager() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-thread-state", "16", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            Map<Long, String> before = dumpAndCheckImages(c, w);
            c.restore();
            c.awaitRestoredLine();
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            assertSameThreadState(w.pid, before);
            assertProgramChecksPass(w);
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    /** From the lazy-pages daemon on this host: the alternate stacks and the handler's frame arrive lazily. */
    @Test
    @Timeout(180)
    void lazily() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-thread-state", "64", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            Map<Long, String> before = dumpAndCheckImages(c, w);
            long lazyPages = Checkpoint.read(c.images).pagemap().lazyPages();
            assertTrue(lazyPages > 16384, "64 MiB should be lazy, got " + lazyPages + " pages");
            RestoreLauncher.Running daemon = c.restoreFromLocalDaemon();
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            c.awaitRestoredLine();
            assertSameThreadState(w.pid, before);
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertTrue(daemon.log().contains("every page is in"), daemon.log());
            assertProgramChecksPass(w);
            LazyRestoreIT.assertOnlyRightSums(w, w.lines().get(0).sum());
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * {@code dump --leave-running}: the dump's own injections (brk, rt_sigaction, prctl,
     * sigaltstack in every thread, all signals blocked meanwhile) neither take nor add a pending
     * signal, and the process goes on with its queues, masks and alternate stacks as they were:
     * its own check passes.
     */
    @Test
    @Timeout(180)
    void dumpLeavesEveryQueueAsItWas() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-thread-state", "16", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            Map<Long, String> before = dumpAndCheckImages(c, w, "--leave-running");
            assertSameThreadState(w.pid, before);
            long last = w.lastCounter();
            w.awaitLine("counter " + (last + 1) + " after the dump", l -> l.counter() > last);
            assertProgramChecksPass(w);
            c.assertOneContinuousRun(w.pid);
        }
    }

    /**
     * The real CRIU (4.1.1, criu-reference) as the reference, on the same live process: its dump
     * holds the same scheduling, alternate stacks and pending signals (siginfo byte for byte, in
     * queue order) as lazymig's, except the flags of the thread frozen on its alternate stack
     * (CRIU's parasite asks from its own stack, so it reports no SS_ONSTACK; lazymig asks with the
     * thread's own stack pointer). Then CRIU's images, read and rewritten by lazymig, are restored
     * by CRIU, and the program's own check passes: the state goes through our codec both ways.
     */
    @Test
    @Timeout(300)
    void sameAsCriuAndCriuRestoresItFromOurImages() throws Exception {
        Path tool = CriuReference.assumeRuns();
        // In a session of its own: CRIU refuses a task whose session leader lies outside its pid
        // namespace, as the test JVM's does when the tests run in one (CI may).
        RestoreWorkload w = RestoreWorkload.cInOwnSession(dir, "restore-thread-state", "4", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            Map<Long, String> before = dumpAndCheckImages(c, w, "--leave-running");
            Path criu = Files.createDirectories(dir.resolve("criu"));
            CriuReference.Result d = CriuReference.run(tool, 60, "criu", "dump", "-t", Integer.toString(w.pid), "-D",
                    criu.toString(), "--shell-job", "-v4", "-o", "dump.log");
            assertEquals(0, d.exit(), "criu dump: " + d.output());
            RestoreProcs.awaitGone(w.pid);

            Checkpoint ours = Checkpoint.read(c.images);
            Checkpoint theirs = Checkpoint.read(criu, XsaveLayout.fromCpuid(Cpuid.enabledXfeatures(), Cpuid::query));
            assertEquals(ours.root().state().sharedPending(), theirs.root().state().sharedPending(), "signals_s");
            assertEquals(ours.root().threads().size(), theirs.root().threads().size());
            for (int i = 0; i < ours.root().threads().size(); i++) {
                ThreadState a = ours.root().threads().get(i);
                ThreadState b = theirs.root().threads().get(i);
                assertEquals(a.tid(), b.tid());
                assertEquals(a.sched(), b.sched(), "sched of thread " + a.tid());
                assertEquals(a.pending(), b.pending(), "signals_p of thread " + a.tid());
                SigAltStack expected = a.altStack().flags() == SigAltStack.SS_ONSTACK
                        ? new SigAltStack(a.altStack().sp(), a.altStack().size(), 0) : a.altStack();
                assertEquals(expected, b.altStack(), "sas of thread " + a.tid());
            }

            Path rewritten = Files.createDirectories(dir.resolve("rewritten"));
            String pages = "pages-" + theirs.pagemap().pagesId() + ".img";
            Files.copy(criu.resolve(pages), rewritten.resolve(pages));
            theirs.write(rewritten);
            awaitPidFree(w.pid);
            CriuReference.Result r = CriuReference.run(tool, 60, "criu", "restore", "-D", rewritten.toString(), "-d",
                    "--shell-job", "-v4", "-o", "restore.log");
            assertEquals(0, r.exit(), "criu restore from lazymig's images: " + r.output());
            assertSameThreadState(w.pid, before);
            assertProgramChecksPass(w);
        }
    }

    /** Waits (bounded) until nothing holds {@code pid}, not even a zombie its parent has not reaped yet. */
    private static void awaitPidFree(int pid) throws InterruptedException {
        Path proc = Path.of("/proc", Integer.toString(pid));
        long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000L;
        while (Files.exists(proc)) {
            assertTrue(System.nanoTime() < end, "pid " + pid + " still held after CRIU's dump killed it");
            Thread.sleep(10);
        }
    }

    private static Map<Long, String> dumpAndCheckImages(RestoreCycle c, RestoreWorkload w) throws Exception {
        return dumpAndCheckImages(c, w, new String[0]);
    }

    /**
     * Waits for the workload's setup, notes each task's signal and scheduling state, dumps (killing
     * it, unless {@code dumpArgs} say otherwise) and checks the checkpoint holds what the threads had.
     */
    private static Map<Long, String> dumpAndCheckImages(RestoreCycle c, RestoreWorkload w, String... dumpArgs)
            throws Exception {
        String[] ready = w.awaitRaw("ready tids").split(" ");
        long[] tids = new long[4];
        for (int i = 0; i < 4; i++) {
            tids[i] = Long.parseLong(ready[2 + i]);
        }
        assertEquals(NAMES, new ArrayList<>(RestoreThreadsIT.threadNames(w.pid).values()), "the workload's threads");
        Map<Long, String> before = threadState(w.pid);
        c.dump(3, true, dumpArgs);

        Checkpoint cp = Checkpoint.read(c.images);
        Map<Long, ThreadState> byTid = new LinkedHashMap<>();
        for (ThreadState t : cp.root().threads()) {
            byTid.put((long) t.tid(), t);
        }
        ThreadState main = byTid.get(tids[0]);
        ThreadState alt = byTid.get(tids[1]);
        ThreadState niced = byTid.get(tids[2]);
        ThreadState idle = byTid.get(tids[3]);

        assertEquals(32768, main.altStack().size());
        assertEquals(SigAltStack.SS_AUTODISARM, main.altStack().flags(), "registered with SS_AUTODISARM, not on it");
        assertEquals(65536, alt.altStack().size());
        assertEquals(SigAltStack.SS_ONSTACK, alt.altStack().flags(), "frozen inside its SA_ONSTACK handler");
        long sp = alt.registers().user().sp();
        assertTrue(Long.compareUnsigned(sp, alt.altStack().sp()) >= 0
                && Long.compareUnsigned(sp, alt.altStack().sp() + alt.altStack().size()) < 0,
                "the alt thread's sp 0x" + Long.toHexString(sp) + " lies on its alternate stack");
        assertEquals(SigAltStack.DISABLED, niced.altStack());
        assertEquals(SigAltStack.DISABLED, idle.altStack());

        assertEquals(new Sched(Sched.SCHED_OTHER, 0, 2), main.sched());
        assertEquals(new Sched(Sched.SCHED_OTHER, 0, 0), alt.sched());
        assertEquals(new Sched(Sched.SCHED_BATCH, 0, 7), niced.sched());
        assertEquals(Sched.SCHED_IDLE, idle.sched().policy());

        assertEquals(2, niced.pending().size(), "niced's own queue: " + niced.pending());
        SigInfo tkill = niced.pending().get(0);
        assertEquals(SIGUSR2, tkill.signo());
        assertEquals(SigInfo.SI_TKILL, tkill.code(), "the kernel queues tgkill's signal with SI_TKILL");
        assertEquals(w.pid, tkill.senderPid());
        SigInfo queued = niced.pending().get(1);
        assertEquals(SIGRTMIN + 3, queued.signo());
        assertEquals(SigInfo.SI_QUEUE, queued.code());
        assertEquals(0x7777, (int) queued.value());
        for (ThreadState t : List.of(main, alt, idle)) {
            assertTrue(t.pending().isEmpty(), "nothing pending for thread " + t.tid() + " alone: " + t.pending());
        }
        List<SigInfo> shared = cp.root().state().sharedPending();
        assertEquals(3, shared.size(), "the process-wide queue: " + shared);
        assertEquals(SIGHUP, shared.get(0).signo());
        assertEquals(SigInfo.SI_USER, shared.get(0).code());
        assertEquals(List.of(SIGRTMIN + 2, SIGRTMIN + 2), List.of(shared.get(1).signo(), shared.get(2).signo()));
        assertEquals(List.of(0x5eed0001, 0x5eed0002), List.of((int) shared.get(1).value(), (int) shared.get(2).value()),
                "sigqueue values in queue order");
        return before;
    }

    /** Every task as before the dump: its signals pending, for it and shared, its mask, nice and policy. */
    private static void assertSameThreadState(int pid, Map<Long, String> before) throws IOException {
        assertEquals(before, threadState(pid));
    }

    /** SIGUSR1 asks the program to check itself; every thread's check passes. */
    private static void assertProgramChecksPass(RestoreWorkload w) throws Exception {
        RestoreEagerIT.kill(w.pid, "USR1");
        w.awaitRaw("check done");
        List<String> raw = w.rawLines();
        assertFalse(w.text().contains("MISMATCH"), w.text());
        for (String line : List.of("check sched ok", "check alt ok", "check niced ok", "check main ok")) {
            assertTrue(raw.stream().anyMatch(l -> l.startsWith(line)), "no '" + line + "':\n" + w.text());
        }
        String main = raw.stream().filter(l -> l.startsWith("check main ok")).findFirst().orElseThrow();
        assertTrue(main.endsWith("SIGRTMIN+2 values 0x5eed0001 0x5eed0002"), main);
        // every pending signal was taken exactly once: nothing is left in any queue
        for (Map.Entry<Long, String> e : threadState(w.pid).entrySet()) {
            assertTrue(e.getValue().contains("SigPnd 0000000000000000 ShdPnd 0000000000000000"),
                    "thread " + e.getKey() + " after the check: " + e.getValue());
        }
    }

    /** Per task (by tid): "SigPnd X ShdPnd Y SigBlk Z nice N rt_priority R policy P". */
    private static Map<Long, String> threadState(int pid) throws IOException {
        Map<Long, String> out = new LinkedHashMap<>();
        for (long tid : RestoreThreadsIT.threadNames(pid).keySet()) {
            Path task = Path.of("/proc", Integer.toString(pid), "task", Long.toString(tid));
            StringBuilder sb = new StringBuilder();
            for (String line : Files.readAllLines(task.resolve("status"))) {
                for (String key : List.of("SigPnd", "ShdPnd", "SigBlk")) {
                    if (line.startsWith(key + ":")) {
                        sb.append(key).append(' ').append(line.substring(key.length() + 1).trim()).append(' ');
                    }
                }
            }
            String stat = Files.readString(task.resolve("stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 1).trim().split("\\s+");
            sb.append("nice ").append(f[19 - 3]).append(" rt_priority ").append(f[40 - 3]).append(" policy ")
                    .append(f[41 - 3]);
            out.put(tid, sb.toString());
        }
        return out;
    }
}
