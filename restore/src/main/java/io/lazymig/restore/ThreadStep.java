package io.lazymig.restore;

import io.lazymig.images.SigAltStack;
import io.lazymig.images.ThreadState;
import io.lazymig.jni.SyscallBatch;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every thread of the process: the leader is the stub; each other thread is created with its
 * tid by clone3, all of them in one run of the leader ({@link ThreadClone}). Then the per-thread state only
 * the thread itself can register is injected into it (each of these syscalls acts on the caller
 * only): the robust futex list, rseq (not inherited across CLONE_VM), the alternate signal stack
 * (a thread created with CLONE_VM starts without one), the clear_child_tid address
 * (set_tid_address; for a created thread CLONE_CHILD_CLEARTID has set it already) and, for the
 * created ones, the thread's name. Each kind is injected into all the threads at once
 * ({@link Stub#callEach}, in groups of {@link #GROUP} for the scratch area): one kind after
 * another, not one thread after another, so a process with 100 threads waits on the scheduler
 * once per kind, not 100 times. rseq reads its area inside the syscall, so this runs after the
 * lazy handoff (its pages are never lazy: the dump makes them eager, and {@link AddressSpace}
 * writes them for images that do not); the clone3
 * needs CAP_CHECKPOINT_RESTORE for set_tid, so it runs before the credentials are dropped.
 */
final class ThreadStep implements RestoreStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    /**
     * Threads per batch: their in-memory arguments (a stack_t of 24 bytes, a name of up to 16) must
     * fit in the scratch area together; 256 of both take 10 KiB of its 64.
     */
    static final int GROUP = 256;

    @Override
    public String name() {
        return "thread state";
    }

    @Override
    public void run(Restoring r) throws IOException {
        ThreadState leader = r.process.leader();
        List<ThreadState> threads = r.process.threads();
        if (threads.size() > 1) {
            boolean sameTid = r.pid == leader.tid();
            List<ThreadState> others = new ArrayList<>(threads.size() - 1);
            for (ThreadState t : threads) {
                if (t.tid() != leader.tid()) {
                    others.add(t);
                }
            }
            long t0 = System.nanoTime();
            ThreadClone.createAll(r.stub, others, sameTid,
                    m -> r.created.add(new Restoring.Created(m.state(), r.stub.forThread(m.tid()))));
            log.debug("restore: {} threads of process {} created in {} us", others.size(), r.pid,
                    (System.nanoTime() - t0) / 1000);
        }
        for (List<Running> group : groups(running(r), GROUP)) {
            restore(r.stub, group);
        }
        if (leader.clearTidAddress() != 0) {
            r.stub.call("set_tid_address", Syscalls.SET_TID_ADDRESS, leader.clearTidAddress());
        }
    }

    /** A thread of the process being restored: its tid now, its state, and whether it is the leader (the stub). */
    record Running(int tid, ThreadState state, boolean leader) {
    }

    /** Every thread of {@code r}'s process with the tid it has now, the leader first (once the threads are created). */
    static List<Running> running(Restoring r) {
        List<Running> all = new ArrayList<>();
        all.add(new Running(r.pid, r.process.leader(), true));
        for (Restoring.Created c : r.created) {
            all.add(new Running(c.tid(), c.state(), false));
        }
        return all;
    }

    /** {@code all} cut into consecutive groups of at most {@code size}, in order. */
    static <T> List<List<T>> groups(List<T> all, int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("group size " + size);
        }
        List<List<T>> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i += size) {
            out.add(all.subList(i, Math.min(all.size(), i + size)));
        }
        return out;
    }

    /**
     * The per-thread state of {@code group}, one kind at a time for all of them: robust list, rseq,
     * alternate stack (the leader's in any case: the stub may have inherited one from restore's
     * thread, as fork keeps it; a created thread starts without), name (created threads: the
     * leader's is the process's, set with it).
     */
    private static void restore(Stub stub, List<Running> group) throws IOException {
        stub.resetScratch();
        List<SyscallBatch.Call> robust = new ArrayList<>();
        List<SyscallBatch.Call> rseq = new ArrayList<>();
        List<SyscallBatch.Call> altStacks = new ArrayList<>();
        List<SyscallBatch.Call> names = new ArrayList<>();
        for (Running t : group) {
            ThreadState s = t.state();
            if (s.robustList().head() != 0) {
                robust.add(stub.in(t.tid(), s.robustList().head(), s.robustList().length()));
            }
            if (s.rseq().isRegistered()) {
                rseq.add(stub.in(t.tid(), s.rseq().abiPointer(), s.rseq().abiSize(), 0, s.rseq().signature()));
            }
            if (t.leader() || s.altStack().isEnabled()) {
                altStacks.add(stub.in(t.tid(), stub.put(altStack(s.altStack())), 0));
            }
            if (!t.leader()) {
                names.add(stub.in(t.tid(), SystemInfo.PR_SET_NAME, stub.put(name(s.comm())), 0, 0, 0));
            }
        }
        batch(stub, "set_robust_list", Syscalls.SET_ROBUST_LIST, robust);
        batch(stub, "rseq", Syscalls.RSEQ, rseq);
        batch(stub, "sigaltstack", Syscalls.SIGALTSTACK, altStacks);
        batch(stub, "prctl(PR_SET_NAME)", Syscalls.PRCTL, names);
    }

    private static void batch(Stub stub, String name, int nr, List<SyscallBatch.Call> calls) throws IOException {
        if (!calls.isEmpty()) {
            stub.callEach(name, nr, calls);
        }
    }

    /**
     * The stack_t for sigaltstack(&ss, NULL): its base, size and SS_AUTODISARM, or SS_DISABLE.
     * SS_ONSTACK is what the kernel reports while the thread runs on the stack, not a mode to set: it
     * is dropped (the kernel tells it again from the stack pointer once the registers are back).
     */
    private static ByteBuffer altStack(SigAltStack s) {
        int flags = s.isEnabled() ? s.flags() & SigAltStack.SS_AUTODISARM : SigAltStack.SS_DISABLE;
        return Stub.struct(24).putLong(0, s.isEnabled() ? s.sp() : 0).putInt(8, flags)
                .putLong(16, s.isEnabled() ? s.size() : 0);
    }

    /** The NUL-terminated name for prctl(PR_SET_NAME). */
    private static ByteBuffer name(String comm) {
        byte[] b = comm.getBytes(StandardCharsets.UTF_8);
        return Stub.struct(b.length + 1).put(b).put((byte) 0).flip();
    }
}
