package io.lazymig.dump;

import io.lazymig.images.IntervalTimer;
import io.lazymig.images.SigAction;
import io.lazymig.images.ThreadState;
import io.lazymig.jni.Errno;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.SyscallBatch;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The questions {@link Injections} asks of a frozen process, asked of every process of a tree at
 * once: its scratch page, brk(0), its signal actions, its interval timers and its threads' own
 * state, each question one batch of injections ({@link SyscallBatch}) over all the processes
 * that need it. One after another, a tree of 4 waited four times as often on the scheduler for
 * the same answers. Run on the tree's tracer thread.
 */
final class TreeInjections {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");
    /** struct kernel_sigaction and struct itimerval on x86-64: four 8-byte words each. */
    private static final int ANSWER_SIZE = 32;

    /** What one process told; its injections stay open (scratch mapped) for the questions asked process by process. */
    record Answers(Injections injections, long brk, List<SigAction> actions, IntervalTimer real, IntervalTimer virtual,
            IntervalTimer prof, List<ThreadState> threads) {
    }

    private TreeInjections() {
    }

    /**
     * Asks every process of {@code pids} (each with {@code threads.get(i)}, its threads as read so
     * far); on failure every scratch page mapped is unmapped again.
     */
    static List<Answers> ask(List<Integer> pids, List<List<ThreadState>> threads, List<long[]> vdsos) throws IOException {
        long t0 = System.nanoTime();
        List<Integer> threadCounts = new ArrayList<>(threads.size());
        for (List<ThreadState> t : threads) {
            threadCounts.add(t.size());
        }
        List<Injections> all = Injections.openAll(pids, vdsos, threadCounts);
        try {
            long t1 = System.nanoTime();
            long[] sigsets = new long[all.size()];
            boolean[] byProgram = Injections.programmable(all, threads, sigsets);
            List<Injections> programs = new ArrayList<>();
            List<Injections> batches = new ArrayList<>();
            List<Long> programSets = new ArrayList<>();
            List<Long> batchSets = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                (byProgram[i] ? programs : batches).add(all.get(i));
                (byProgram[i] ? programSets : batchSets).add(sigsets[i]);
            }
            List<Injections.ProcessAnswers> programmed = programs.isEmpty() ? List.of()
                    : Injections.askProcessesByProgram(programs, programSets.stream().mapToLong(Long::longValue).toArray());
            List<Injections.ProcessAnswers> batched = batches.isEmpty() ? List.of()
                    : askByBatches(batches, batchSets.stream().mapToLong(Long::longValue).toArray());
            long t2 = System.nanoTime();
            List<List<ThreadState>> asked = Injections.askThreadsAll(all, threads, byProgram);
            if (log.isDebugEnabled()) {
                log.debug("dump: injections: scratch {} us, brk+sigactions+itimers {} us ({} of {} processes by "
                        + "program), threads {} us", (t1 - t0) / 1000, (t2 - t1) / 1000, programs.size(), all.size(),
                        (System.nanoTime() - t2) / 1000);
            }
            List<Answers> out = new ArrayList<>(all.size());
            for (int i = 0, a = 0, b = 0; i < all.size(); i++) {
                Injections.ProcessAnswers p = byProgram[i] ? programmed.get(a++) : batched.get(b++);
                out.add(new Answers(all.get(i), p.brk(), p.actions(), p.real(), p.virtual(), p.prof(), asked.get(i)));
            }
            return out;
        } catch (IOException | RuntimeException e) {
            Injections.closeAll(all);
            throw e;
        }
    }

    /** The processes' own questions injected one at a time, each one batch over {@code all}. */
    private static List<Injections.ProcessAnswers> askByBatches(List<Injections> all, long[] sigsets) throws IOException {
        long[] brks = check("brk(0)", all, SyscallBatch.inject(Syscalls.BRK, calls(all, -1)));
        List<List<SigAction>> actions = signalActions(all, sigsets);
        IntervalTimer[][] itimers = new IntervalTimer[3][];
        int[] which = {Syscalls.ITIMER_REAL, Syscalls.ITIMER_VIRTUAL, Syscalls.ITIMER_PROF};
        for (int w = 0; w < 3; w++) {
            itimers[w] = itimers(all, which[w]);
        }
        List<Injections.ProcessAnswers> out = new ArrayList<>(all.size());
        for (int i = 0; i < all.size(); i++) {
            out.add(new Injections.ProcessAnswers(brks[i], actions.get(i), itimers[0][i], itimers[1][i], itimers[2][i]));
        }
        return out;
    }

    /**
     * Each process's non-default signal actions, as {@link Injections#signalActions}: a signal is
     * asked, in one batch, of the processes whose {@code sets} (their /proc status's caught and
     * ignored) hold it (and SIGCHLD of all).
     */
    private static List<List<SigAction>> signalActions(List<Injections> all, long[] sets) throws IOException {
        List<List<SigAction>> out = new ArrayList<>(all.size());
        for (int i = 0; i < all.size(); i++) {
            out.add(new ArrayList<>());
        }
        ByteBuffer answer = ByteBuffer.allocateDirect(ANSWER_SIZE).order(ByteOrder.nativeOrder());
        for (int sig = 1; sig <= SigAction.SIGMAX; sig++) {
            if (!SigAction.isDumpable(sig)) {
                continue;
            }
            List<Injections> some = new ArrayList<>();
            List<Integer> at = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                if (Injections.asked(sets[i], sig)) {
                    some.add(all.get(i));
                    at.add(i);
                }
            }
            if (some.isEmpty()) {
                continue;
            }
            List<SyscallBatch.Call> calls = new ArrayList<>(some.size());
            for (Injections inj : some) {
                calls.add(new SyscallBatch.Call(inj.pid(), inj.syscallAddress(), sig, 0, inj.scratch(),
                        Ptrace.KERNEL_SIGSET_SIZE));
            }
            check("rt_sigaction(" + sig + ")", some, SyscallBatch.inject(Syscalls.RT_SIGACTION, calls));
            for (int k = 0; k < some.size(); k++) {
                answer.clear();
                ProcessMemory.read(some.get(k).pid(), some.get(k).scratch(), answer);
                SigAction a = new SigAction(sig, answer.getLong(0), answer.getLong(8), answer.getLong(16),
                        answer.getLong(24));
                if (!a.isDefault()) {
                    out.get(at.get(k)).add(a);
                }
            }
        }
        return out;
    }

    /** Interval timer {@code which} of every process, by one batch of getitimer. */
    private static IntervalTimer[] itimers(List<Injections> all, int which) throws IOException {
        List<SyscallBatch.Call> calls = new ArrayList<>(all.size());
        for (Injections inj : all) {
            calls.add(new SyscallBatch.Call(inj.pid(), inj.syscallAddress(), which, inj.scratch()));
        }
        check("getitimer(" + which + ")", all, SyscallBatch.inject(Syscalls.GETITIMER, calls));
        ByteBuffer answer = ByteBuffer.allocateDirect(ANSWER_SIZE).order(ByteOrder.nativeOrder());
        IntervalTimer[] out = new IntervalTimer[all.size()];
        for (int i = 0; i < all.size(); i++) {
            answer.clear();
            ProcessMemory.read(all.get(i).pid(), all.get(i).scratch(), answer);
            out[i] = new IntervalTimer(answer.getLong(0), answer.getLong(8), answer.getLong(16), answer.getLong(24));
        }
        return out;
    }

    /** One call per process at its syscall instruction, with {@code arg} as the only argument (-1: 0). */
    private static List<SyscallBatch.Call> calls(List<Injections> all, long arg) {
        List<SyscallBatch.Call> calls = new ArrayList<>(all.size());
        for (Injections inj : all) {
            calls.add(new SyscallBatch.Call(inj.pid(), inj.syscallAddress(), arg < 0 ? 0 : arg));
        }
        return calls;
    }

    /** The results, or a DumpException naming the first process whose syscall failed. */
    private static long[] check(String what, List<Injections> in, long[] rcs) throws DumpException {
        for (int i = 0; i < rcs.length; i++) {
            if (Syscalls.isError(rcs[i])) {
                throw new DumpException("injected " + what + " in process " + in.get(i).pid() + " failed: "
                        + Errno.name(Syscalls.errno(rcs[i])));
            }
        }
        return rcs;
    }
}
