package io.lazymig.restore;

import io.lazymig.images.ThreadState;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.WaitStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Recreates the threads of the checkpoint inside the process being restored, as pthread_create
 * would have made them (KERNEL-FACTS §9): {@code clone3} with the flags glibc uses, {@code tls} =
 * the thread's fs_base, {@code set_tid} = its original tid, and its clear_child_tid as both
 * {@code child_tid} (the kernel clears it and wakes the futex when the thread exits:
 * pthread_join) and {@code parent_tid}.
 *
 * <p>The leader makes all of them in one {@link SyscallRun}. CLONE_PTRACE makes each new thread
 * traced by restore, stopped before its first instruction ({@code rip} after the run's syscall
 * instruction, {@code rsp} the leader's) until its own registers are set, without an event stop
 * in the leader. Injected one at a time, each clone3 cost its two trips through the scheduler and
 * a wait for the new thread (~0.6 ms a thread: 60 ms of the downtime of a process with 100
 * threads); the run costs the kernel's clone3s and one stop.
 */
final class ThreadClone {
    /** Offsets in struct clone_args (u64 fields). */
    private static final int FLAGS = 0;
    private static final int CHILD_TID = 16;
    private static final int PARENT_TID = 24;
    private static final int TLS = 56;
    private static final int SET_TID = 64;
    private static final int SET_TID_SIZE = 72;

    /** Per thread in the scratch area: its clone_args, then the pid_t set_tid points at. */
    private static final int ARGS = 96;
    private static final int ARGS_TID = 88;
    /** Threads per run: their clone_args and the run's records fit the scratch area. */
    static final int PER_RUN = (int) ((Stub.SCRATCH_SIZE - SyscallRun.CODE_SPACE) / (ARGS + SyscallRun.RECORD));

    private static final long THREAD_FLAGS = Syscalls.CLONE_VM | Syscalls.CLONE_FS | Syscalls.CLONE_FILES
            | Syscalls.CLONE_SIGHAND | Syscalls.CLONE_THREAD | Syscalls.CLONE_SYSVSEM | Syscalls.CLONE_SETTLS
            | Syscalls.CLONE_PTRACE;
    private static final long TID_FLAGS = Syscalls.CLONE_PARENT_SETTID | Syscalls.CLONE_CHILD_CLEARTID;

    private ThreadClone() {
    }

    /** A thread made: its state in the checkpoint and its tid now. */
    record Made(ThreadState state, int tid) {
    }

    /**
     * Creates {@code threads} from {@code leader} (which must not have PTRACE_O_TRACECLONE) and waits
     * for the first stop of each; {@code sameTid}: with their original tids (false when the process
     * itself was restored under another pid: the kernel picks them). Every thread made is passed to
     * {@code made} as soon as it is known, also when a later one fails, so that a failed restore kills it.
     */
    static void createAll(Stub leader, List<ThreadState> threads, boolean sameTid, Consumer<Made> made)
            throws IOException {
        for (int from = 0; from < threads.size(); from += PER_RUN) {
            run(leader, threads.subList(from, Math.min(threads.size(), from + PER_RUN)), sameTid, made);
        }
    }

    private static void run(Stub leader, List<ThreadState> threads, boolean sameTid, Consumer<Made> made)
            throws IOException {
        leader.resetScratch();
        int n = threads.size();
        ByteBuffer args = Stub.struct(n * ARGS);
        long base = leader.cursor();
        for (int i = 0; i < n; i++) {
            ThreadState t = threads.get(i);
            int at = i * ARGS;
            long clearTid = t.clearTidAddress();
            args.putLong(at + FLAGS, THREAD_FLAGS | (clearTid != 0 ? TID_FLAGS : 0))
                    .putLong(at + CHILD_TID, clearTid)
                    .putLong(at + PARENT_TID, clearTid)
                    .putLong(at + TLS, t.registers().user().fsBase())
                    .putLong(at + SET_TID, sameTid ? base + at + ARGS_TID : 0)
                    .putLong(at + SET_TID_SIZE, sameTid ? 1 : 0)
                    .putInt(at + ARGS_TID, t.tid());
        }
        if (leader.put(args) != base) {
            throw new IllegalStateException("clone_args not where they were laid out for");
        }
        List<SyscallRun.Call> calls = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            calls.add(new SyscallRun.Call(Syscalls.CLONE3, base + (long) i * ARGS, Syscalls.CLONE_ARGS_SIZE_VER2));
        }
        long[] results = SyscallRun.run(leader, calls);
        List<Integer> created = new ArrayList<>();
        RestoreException failure = null;
        for (int i = 0; i < n && failure == null; i++) {
            ThreadState t = threads.get(i);
            long rc = results[i];
            if (SyscallRun.failed(rc)) {
                failure = failure(leader, t, Syscalls.errno(rc));
            } else if (rc > 0) {
                made.accept(new Made(t, (int) rc));
                created.add((int) rc);
                if (sameTid && rc != t.tid()) {
                    failure = new RestoreException("clone3 made thread " + rc + ", not " + t.tid());
                }
            } else {
                failure = new RestoreException("the clone3 of thread " + t.tid() + " did not run (result " + rc + ")");
            }
        }
        for (int tid : created) {
            awaitFirstStop(tid); // before anything else is done to them, failed or not
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static RestoreException failure(Stub leader, ThreadState t, int errno) {
        if (errno == Errno.EEXIST) {
            return new RestoreException("thread id " + t.tid() + " is taken on this host: cannot recreate thread "
                    + t.tid() + " of process " + leader.pid());
        }
        return new RestoreException("clone3 of thread " + t.tid() + " failed: " + Errno.name(errno) + " ("
                + Errno.text(errno) + ")");
    }

    /**
     * A new thread's first stop: SIGSTOP (the leader was attached by TRACEME: the injection that
     * follows resumes it with no signal, so the SIGSTOP is never delivered) or, had it been seized,
     * PTRACE_EVENT_STOP.
     */
    private static void awaitFirstStop(int tid) throws IOException {
        WaitStatus st = Ptrace.waitpid(tid);
        if (!st.stopped()) {
            throw new RestoreException("new thread " + tid + " did not stop after clone3: " + st.describe());
        }
    }
}
