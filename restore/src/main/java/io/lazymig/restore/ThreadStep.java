package io.lazymig.restore;

import io.lazymig.images.SigAltStack;
import io.lazymig.images.ThreadState;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Every thread of the process: the leader is the stub; each other thread is created with its
 * tid by a clone3 injected into the leader ({@link ThreadClone}). Then the per-thread state only
 * the thread itself can register is injected into it (each of these syscalls acts on the caller
 * only): the robust futex list, rseq (not inherited across CLONE_VM), the alternate signal stack
 * (a thread created with CLONE_VM starts without one), the clear_child_tid address
 * (set_tid_address; for a created thread CLONE_CHILD_CLEARTID has set it already) and, for the
 * created ones, the thread's name. rseq reads its area inside the syscall, so this runs after the
 * lazy handoff (the area's pages are written eagerly anyway: {@link AddressSpace}); the clone3
 * needs CAP_CHECKPOINT_RESTORE for set_tid, so it runs before the credentials are dropped.
 */
final class ThreadStep implements RestoreStep {
    @Override
    public String name() {
        return "thread state";
    }

    @Override
    public void run(Restoring r) throws IOException {
        ThreadState leader = r.process.leader();
        restore(r.stub, leader);
        // The stub may have inherited an alternate stack from restore's thread (fork keeps it): set
        // the leader's in any case.
        setAltStack(r.stub, leader.altStack());
        if (leader.clearTidAddress() != 0) {
            r.stub.call("set_tid_address", Syscalls.SET_TID_ADDRESS, leader.clearTidAddress());
        }
        List<ThreadState> threads = r.process.threads();
        if (threads.size() == 1) {
            return;
        }
        boolean sameTid = r.pid == leader.tid();
        Ptrace.setOptions(r.pid, Ptrace.DEFAULT_OPTIONS | Ptrace.O_TRACECLONE);
        for (ThreadState t : threads) {
            if (t.tid() == leader.tid()) {
                continue;
            }
            int tid = ThreadClone.create(r.stub, t, sameTid);
            Stub in = r.stub.forThread(tid);
            r.created.add(new Restoring.Created(t, in));
            restore(in, t);
            if (t.altStack().isEnabled()) {
                setAltStack(in, t.altStack());
            }
            setName(in, t.comm());
        }
        Ptrace.setOptions(r.pid, Ptrace.DEFAULT_OPTIONS);
    }

    static void restore(Injector in, ThreadState t) throws IOException {
        if (t.robustList().head() != 0) {
            in.call("set_robust_list", Syscalls.SET_ROBUST_LIST, t.robustList().head(), t.robustList().length());
        }
        if (t.rseq().isRegistered()) {
            in.call("rseq", Syscalls.RSEQ, t.rseq().abiPointer(), t.rseq().abiSize(), 0, t.rseq().signature());
        }
    }

    /**
     * sigaltstack(&ss, NULL) in the thread: its base, size and SS_AUTODISARM, or SS_DISABLE. SS_ONSTACK
     * is what the kernel reports while the thread runs on the stack, not a mode to set: it is
     * dropped (the kernel tells it again from the stack pointer once the registers are back).
     */
    private static void setAltStack(Stub in, SigAltStack s) throws IOException {
        in.resetScratch();
        int flags = s.isEnabled() ? s.flags() & SigAltStack.SS_AUTODISARM : SigAltStack.SS_DISABLE;
        ByteBuffer ss = Stub.struct(24).putLong(0, s.isEnabled() ? s.sp() : 0).putInt(8, flags)
                .putLong(16, s.isEnabled() ? s.size() : 0);
        in.call("sigaltstack", Syscalls.SIGALTSTACK, in.put(ss), 0);
    }

    private static void setName(Stub in, String comm) throws IOException {
        in.resetScratch();
        byte[] b = comm.getBytes(StandardCharsets.UTF_8);
        ByteBuffer name = Stub.struct(b.length + 1).put(b).put((byte) 0).flip();
        in.call("prctl(PR_SET_NAME)", Syscalls.PRCTL, SystemInfo.PR_SET_NAME, in.put(name), 0, 0, 0);
    }
}
