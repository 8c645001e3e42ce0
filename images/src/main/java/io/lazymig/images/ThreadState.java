package io.lazymig.images;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The state of one thread (CRIU's core-TID.img minus the process-wide {@code tc} part): its tid,
 * registers and XSAVE area, blocked-signal mask, rseq registration, robust futex list, the
 * clear_child_tid address and its name. The thread-group leader's tid is the process's pid.
 * Per-thread state not dumped yet (sigaltstack, pending signals, scheduling policy and nice)
 * belongs here, next to what is.
 */
public record ThreadState(int tid, Registers registers, long sigmask, Rseq rseq, RobustList robustList,
        long clearTidAddress, String comm) {
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
    }

    /** A thread with nothing blocked or registered: no rseq, no robust list, no clear_child_tid. */
    public static ThreadState plain(int tid, Registers registers, String comm) {
        return new ThreadState(tid, registers, 0, Rseq.NONE, RobustList.NONE, 0, comm);
    }
}
