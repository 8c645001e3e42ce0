package io.lazymig.images;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;

/**
 * The state of one thread (CRIU's core-TID.img minus the process-wide {@code tc} part): its tid,
 * registers and XSAVE area, blocked-signal mask, rseq registration, robust futex list, the
 * clear_child_tid address, its name, its alternate signal stack, its scheduling (policy, RT
 * priority, nice) and the signals pending for it alone (tgkill, or a fault: its private queue, in
 * queue order; the process-wide queue is {@link ProcessState#sharedPending()}) and its parent-death
 * signal (prctl(PR_SET_PDEATHSIG), 0 for none). The thread-group leader's tid is the process's pid.
 */
public record ThreadState(int tid, Registers registers, long sigmask, Rseq rseq, RobustList robustList,
        long clearTidAddress, String comm, SigAltStack altStack, Sched sched, List<SigInfo> pending, int pdeathSig) {
    public ThreadState {
        if (tid <= 0) {
            throw new IllegalArgumentException("bad tid " + tid);
        }
        Objects.requireNonNull(registers, "registers");
        Objects.requireNonNull(rseq, "rseq");
        Objects.requireNonNull(robustList, "robustList");
        Objects.requireNonNull(comm, "comm");
        if (comm.getBytes(StandardCharsets.UTF_8).length > ProcessState.MAX_COMM_BYTES) {
            throw new IllegalArgumentException("thread " + tid + ": comm \"" + comm + "\" longer than "
                    + ProcessState.MAX_COMM_BYTES + " bytes");
        }
        Objects.requireNonNull(altStack, "altStack");
        Objects.requireNonNull(sched, "sched");
        pending = List.copyOf(pending);
        if (pdeathSig < 0 || pdeathSig > SigAction.SIGMAX) {
            throw new IllegalArgumentException("thread " + tid + ": bad parent-death signal " + pdeathSig);
        }
    }

    /**
     * A thread with nothing blocked, registered or pending: no rseq, no robust list, no
     * clear_child_tid, no alternate stack, default scheduling.
     */
    public static ThreadState plain(int tid, Registers registers, String comm) {
        return new ThreadState(tid, registers, 0, Rseq.NONE, RobustList.NONE, 0, comm, SigAltStack.DISABLED,
                Sched.DEFAULT, List.of(), 0);
    }

    /**
     * This thread with what only a syscall injected into it tells: its clear_child_tid, alternate
     * stack and parent-death signal.
     */
    public ThreadState withInjected(long clearTid, SigAltStack stack, int deathSig) {
        return new ThreadState(tid, registers, sigmask, rseq, robustList, clearTid, comm, stack, sched, pending,
                deathSig);
    }
}
