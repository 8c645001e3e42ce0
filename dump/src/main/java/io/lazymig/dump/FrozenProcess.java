package io.lazymig.dump;

import io.lazymig.jni.Errno;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Registers;
import io.lazymig.jni.SyscallRestart;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.WaitStatus;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A process with every thread held in a ptrace-stop by PTRACE_SEIZE + PTRACE_INTERRUPT, and its
 * release: killed, or resumed exactly where each thread was. Threads are seized until the set is
 * stable: /proc/PID/task is listed again after every new thread is stopped, until a listing finds
 * none new (a thread created meanwhile by a still-running one is caught by the next listing; once
 * every listed thread is stopped, none can create more). The thread that freezes it is its tracer:
 * every ptrace call for it must come from that thread (ARCHITECTURE invariant 5).
 */
final class FrozenProcess implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    /** One stopped thread: its registers at the freeze, its signal mask and its rseq registration. */
    record Stopped(int tid, Registers saved, long sigmask, Ptrace.RseqConfiguration rseq) {
        /** The registers at the freeze, before anything was injected (a copy). */
        Registers registers() {
            return saved.copy();
        }
    }

    private final int pid;
    /** Leader first, then in the order they were seized. */
    private final List<Stopped> threads;
    private final long seizedAt;
    private boolean released;

    private FrozenProcess(int pid, List<Stopped> threads, long seizedAt) {
        this.pid = pid;
        this.threads = threads;
        this.seizedAt = seizedAt;
    }

    /** Seizes and interrupts every thread of {@code pid}; returns once all sit in their interrupt stop. */
    static FrozenProcess freeze(int pid) throws DumpException {
        long seizedAt = System.nanoTime();
        Map<Integer, Stopped> stopped = new LinkedHashMap<>();
        try {
            seizeAndStop(pid, List.of(pid), stopped);
            long leader = System.nanoTime();
            int passes = 1;
            while (true) {
                List<Integer> fresh = new ArrayList<>();
                for (int tid : tasks(pid)) {
                    if (!stopped.containsKey(tid)) {
                        fresh.add(tid);
                    }
                }
                if (fresh.isEmpty()) {
                    break;
                }
                seizeAndStop(pid, fresh, stopped);
                passes++;
            }
            if (log.isDebugEnabled()) {
                log.debug("dump: froze {} threads of process {} in {} us (the leader in {} us, {} pass(es))",
                        stopped.size(), pid, (System.nanoTime() - seizedAt) / 1000, (leader - seizedAt) / 1000, passes);
            }
            return new FrozenProcess(pid, List.copyOf(stopped.values()), seizedAt);
        } catch (IOException e) {
            for (Stopped s : stopped.values()) {
                detachQuietly(s.tid());
            }
            throw e instanceof DumpException d ? d
                    : new DumpException("cannot freeze process " + pid + ": " + e.getMessage(), e);
        }
    }

    /**
     * Seizes and interrupts each of {@code tids}, then waits for each one's interrupt stop: side by
     * side, so the threads stop while the next ones are seized (one after another, each seize
     * waited for its stop: ~0.1 ms a thread here, mostly waiting for the thread to be scheduled). A
     * non-leader that exits meanwhile is left out. On failure the threads of this call not yet in
     * {@code stopped} are detached.
     */
    private static void seizeAndStop(int pid, List<Integer> tids, Map<Integer, Stopped> stopped) throws IOException {
        List<Integer> seized = new ArrayList<>(tids.size());
        try {
            for (int tid : tids) {
                try {
                    Ptrace.seize(tid, Ptrace.O_TRACESYSGOOD);
                } catch (NativeException e) {
                    if (tid != pid && e.errno() == Errno.ESRCH) {
                        continue; // exited between the listing and the seize
                    }
                    throw new DumpException("cannot seize " + what(pid, tid) + ": " + e.getMessage(), e);
                }
                seized.add(tid);
                Ptrace.interrupt(tid);
            }
            for (int tid : seized) {
                Stopped s = awaitStop(pid, tid);
                if (s != null) {
                    stopped.put(tid, s);
                }
            }
        } catch (IOException e) {
            for (int tid : seized) {
                if (!stopped.containsKey(tid)) {
                    detachQuietly(tid);
                }
            }
            throw e;
        }
    }

    /** Waits for seized thread {@code tid}'s interrupt stop; null when a non-leader exited on its own. */
    private static Stopped awaitStop(int pid, int tid) throws IOException {
        while (true) {
            WaitStatus st = Ptrace.waitpid(tid);
            if (st.terminated()) {
                if (tid != pid) {
                    return null; // the thread exited on its own: nothing to dump of it
                }
                throw new DumpException("process " + pid + " exited while being frozen (" + st.describe() + ")");
            }
            if (st.isInterruptStop()) {
                break;
            }
            if (st.isGroupStop()) {
                consumeInterruptTrap(pid, tid);
                break;
            }
            // A signal arrived before the interrupt: deliver it as it would have been, stop again.
            Ptrace.cont(tid, st.isSignalStop() ? st.stopSignal() : 0);
        }
        Registers regs = Ptrace.getRegisters(tid);
        Ptrace.RseqConfiguration rseq = Ptrace.getRseqConfiguration(tid);
        RseqAbort.apply(pid, tid, regs, rseq); // before any injection clears the thread's rseq_cs
        return new Stopped(tid, regs, Ptrace.getSigmask(tid), rseq);
    }

    /**
     * A thread already stopped by a signal (SIGSTOP, SIGTSTP, ...) reports its group-stop first
     * when seized; the PTRACE_INTERRUPT trap is still pending and would otherwise come at the
     * first resume, in the middle of the first injected syscall. Measured here (6.18): one more
     * PTRACE_CONT gives exactly one more EVENT_STOP (with the stop signal, as the group is still
     * stopped); interrupting again first makes that hold even if the kernel had dropped the
     * pending trap. The group stays stopped: detach puts the thread back into its stop.
     */
    private static void consumeInterruptTrap(int pid, int tid) throws NativeException, DumpException {
        Ptrace.interrupt(tid);
        Ptrace.cont(tid, 0);
        WaitStatus st = Ptrace.waitpid(tid);
        if (st.terminated()) {
            throw new DumpException(what(pid, tid) + " exited while being frozen (" + st.describe() + ")");
        }
        if (!st.isEvent(Ptrace.EVENT_STOP)) {
            throw new DumpException("cannot freeze stopped " + what(pid, tid) + ": expected its interrupt trap, got "
                    + st.describe());
        }
        log.debug("dump: {} is stopped by a signal; it stays stopped", what(pid, tid));
    }

    /** The thread ids in /proc/PID/task, ascending. */
    private static List<Integer> tasks(int pid) throws IOException {
        List<Integer> tids = Preflight.taskIds(pid);
        if (tids == null) {
            throw new DumpException("process " + pid + " exited while being frozen");
        }
        return tids;
    }

    private static String what(int pid, int tid) {
        return tid == pid ? "process " + pid : "thread " + tid + " of process " + pid;
    }

    /** System.nanoTime() just before the first PTRACE_SEIZE: where the frozen time starts. */
    long seizedAt() {
        return seizedAt;
    }

    int pid() {
        return pid;
    }

    /** Every thread, the leader first. */
    List<Stopped> threads() {
        return threads;
    }

    /** Kills the process (CRIU's default after a dump) and reaps the ptrace state of every thread. */
    void kill() throws NativeException {
        released = true;
        SystemInfo.kill(pid, SystemInfo.SIGKILL);
        // The leader's exit is reported only once the other threads are gone: them first.
        for (int i = threads.size() - 1; i >= 0; i--) {
            waitUntilGone(threads.get(i).tid());
        }
    }

    /**
     * Blocks every signal in every thread while syscalls are injected into them: a SIGCHLD (even a
     * default-ignored one is queued for a traced task) would turn an injection's entry stop into a
     * signal-delivery stop. Signals arriving meanwhile stay pending, for after the release.
     * {@link #putBack} undoes it.
     */
    void blockSignals() throws NativeException {
        for (Stopped s : threads) {
            Ptrace.setSigmask(s.tid(), -1L);
        }
    }

    /**
     * Sets every thread's registers of the freeze (with the syscall restart the kernel would have
     * done itself) and its own mask back, keeping it stopped. From here on a tracer that dies
     * without a word (SIGKILL, the OOM killer) leaves the process as if it had never been frozen:
     * the kernel detaches its tracees and they run on. Only between {@link #blockSignals} and this
     * call (the injections, a few ms) would such a death leave a thread with borrowed registers.
     */
    void putBack() throws NativeException {
        NativeException first = null;
        for (Stopped s : threads) {
            try {
                Registers regs = s.registers();
                SyscallRestart.fixForSameTask(regs);
                Ptrace.setRegisters(s.tid(), regs);
                Ptrace.setSigmask(s.tid(), s.sigmask());
            } catch (NativeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Resumes every thread untouched ({@link #putBack}), then detaches. */
    void resume() throws NativeException {
        released = true;
        NativeException first = null;
        try {
            putBack();
        } catch (NativeException e) {
            first = e;
        }
        for (Stopped s : threads) {
            try {
                Ptrace.detach(s.tid(), 0);
            } catch (NativeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static void waitUntilGone(int tid) throws NativeException {
        while (true) {
            WaitStatus st;
            try {
                st = Ptrace.waitpid(tid);
            } catch (NativeException e) {
                return; // ECHILD: gone and no longer traced
            }
            if (st.terminated()) {
                return;
            }
            Ptrace.cont(tid, 0);
        }
    }

    /** If neither kill nor resume ran (an error mid-dump), put the process back as it was. */
    @Override
    public void close() {
        if (!released) {
            try {
                resume();
                log.warn("dump: process {} resumed untouched after the failed dump", pid);
            } catch (NativeException e) {
                log.error("dump: could not resume process {}: {}", pid, e.getMessage());
            }
        }
    }

    private static void detachQuietly(int tid) {
        try {
            Ptrace.detach(tid, 0);
        } catch (NativeException ignored) {
            // it is gone or was never stopped; nothing more to undo
        }
    }
}
