package io.lazymig.restore;

import io.lazymig.images.ThreadState;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Registers;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.WaitStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Recreates the threads of the checkpoint inside the process being restored, as pthread_create
 * would have made them (KERNEL-FACTS §9): {@code clone3} with the flags glibc uses, {@code tls} =
 * the thread's fs_base, {@code set_tid} = its original tid, and its clear_child_tid as both
 * {@code child_tid} (the kernel clears it and wakes the futex when the thread exits:
 * pthread_join) and {@code parent_tid}.
 *
 * <p>The leader makes all of them in one run: a loop of a few instructions written into the
 * scratch area (mapped executable) calls clone3 once per thread and ends on an {@code int3}.
 * CLONE_PTRACE makes each new thread traced by restore, stopped before its first instruction
 * ({@code rip} after the loop's syscall instruction, {@code rsp} the leader's) until its own
 * registers are set, without an event stop in the leader. Injected one at a time, each clone3
 * cost its two trips through the scheduler and a wait for the new thread (~0.6 ms a thread: 60 ms
 * of the downtime of a process with 100 threads); the loop costs the kernel's clone3s and one stop.
 */
final class ThreadClone {
    /** Offsets in struct clone_args (u64 fields). */
    private static final int FLAGS = 0;
    private static final int CHILD_TID = 16;
    private static final int PARENT_TID = 24;
    private static final int TLS = 56;
    private static final int SET_TID = 64;
    private static final int SET_TID_SIZE = 72;

    /** One record per thread in the scratch area: its clone_args, the pid_t set_tid points at, the loop's result. */
    private static final int RECORD = 128;
    private static final int RECORD_TID = 88;
    private static final int RECORD_RESULT = 96;
    /** Where the records start, after the code. */
    private static final int CODE_SPACE = 64;
    /** Threads per run: their records and the code fit in the scratch area. */
    static final int PER_RUN = (int) ((Stub.SCRATCH_SIZE - CODE_SPACE) / RECORD);

    /**
     * The loop, r12 = the first record, r13 = the number of records:
     * <pre>
     * loop: test r13,r13; jz done
     *       mov eax,SYS_clone3; mov rdi,r12; mov esi,88; syscall
     *       mov [r12+96],rax; test rax,rax; js done     (stop at the first failure)
     *       add r12,128; dec r13; jmp loop
     * done: int3
     * </pre>
     */
    private static final byte[] LOOP = {
        0x4d, (byte) 0x85, (byte) 0xed,                 // test r13, r13
        0x74, 0x25,                                     // jz done
        (byte) 0xb8, 0, 0, 0, 0,                        // mov eax, nr (patched)
        0x4c, (byte) 0x89, (byte) 0xe7,                 // mov rdi, r12
        (byte) 0xbe, 0, 0, 0, 0,                        // mov esi, size (patched)
        0x0f, 0x05,                                     // syscall
        0x49, (byte) 0x89, 0x44, 0x24, RECORD_RESULT,   // mov [r12+96], rax
        0x48, (byte) 0x85, (byte) 0xc0,                 // test rax, rax
        0x78, 0x0c,                                     // js done
        0x49, (byte) 0x81, (byte) 0xc4, (byte) RECORD, 0, 0, 0, // add r12, 128
        0x49, (byte) 0xff, (byte) 0xcd,                 // dec r13
        (byte) 0xeb, (byte) 0xd6,                       // jmp loop
        (byte) 0xcc,                                    // done: int3
    };
    private static final int LOOP_NR = 6;
    private static final int LOOP_SIZE = 14;

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
    static void createAll(Stub leader, List<ThreadState> threads, boolean sameTid, java.util.function.Consumer<Made> made)
            throws IOException {
        for (int from = 0; from < threads.size(); from += PER_RUN) {
            run(leader, threads.subList(from, Math.min(threads.size(), from + PER_RUN)), sameTid, made);
        }
    }

    /** The loop's code, its syscall number and clone_args size patched in. */
    static ByteBuffer code() {
        ByteBuffer code = Stub.struct(CODE_SPACE).put(LOOP)
                .putInt(LOOP_NR, Syscalls.CLONE3).putInt(LOOP_SIZE, Syscalls.CLONE_ARGS_SIZE_VER2);
        return code.clear();
    }

    private static void run(Stub leader, List<ThreadState> threads, boolean sameTid, java.util.function.Consumer<Made> made)
            throws IOException {
        leader.resetScratch();
        long codeAt = leader.put(code());
        ByteBuffer records = Stub.struct(threads.size() * RECORD);
        long first = codeAt + CODE_SPACE;
        for (int i = 0; i < threads.size(); i++) {
            ThreadState t = threads.get(i);
            int at = i * RECORD;
            long clearTid = t.clearTidAddress();
            records.putLong(at + FLAGS, THREAD_FLAGS | (clearTid != 0 ? TID_FLAGS : 0))
                    .putLong(at + CHILD_TID, clearTid)
                    .putLong(at + PARENT_TID, clearTid)
                    .putLong(at + TLS, t.registers().user().fsBase())
                    .putLong(at + SET_TID, sameTid ? first + at + RECORD_TID : 0)
                    .putLong(at + SET_TID_SIZE, sameTid ? 1 : 0)
                    .putInt(at + RECORD_TID, t.tid());
        }
        if (leader.put(records) != first) {
            throw new IllegalStateException("the thread records do not follow the code");
        }
        runLoop(leader.pid(), codeAt, first, threads.size());
        ByteBuffer results = Stub.struct(threads.size() * RECORD);
        leader.read(first, results);
        List<Integer> created = new ArrayList<>();
        RestoreException failure = null;
        for (int i = 0; i < threads.size() && failure == null; i++) {
            ThreadState t = threads.get(i);
            long rc = results.getLong(i * RECORD + RECORD_RESULT);
            if (rc > 0) {
                made.accept(new Made(t, (int) rc));
                created.add((int) rc);
                if (sameTid && rc != t.tid()) {
                    failure = new RestoreException("clone3 made thread " + rc + ", not " + t.tid());
                }
            } else if (Syscalls.isError(rc)) {
                failure = failure(leader, t, Syscalls.errno(rc));
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
     * Runs the loop in the leader until its int3: the leader sits in that SIGTRAP's stop after, which
     * the next injection resumes with no signal. Its orig_rax is -1: no syscall restart applies.
     */
    private static void runLoop(int pid, long code, long first, int count) throws IOException {
        Registers regs = Registers.allocate();
        Ptrace.getRegisters(pid, regs);
        regs.setRip(code).setOrigRax(-1).setR12(first).setR13(count);
        Ptrace.setRegisters(pid, regs);
        Ptrace.cont(pid, 0);
        WaitStatus st = Ptrace.waitpid(pid);
        if (!st.stopped() || st.stopSignal() != SystemInfo.SIGTRAP) {
            throw new Ptrace.UnexpectedStopException("the end of the thread-creating loop in process " + pid, st);
        }
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
