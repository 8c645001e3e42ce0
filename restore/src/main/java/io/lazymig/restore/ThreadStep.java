package io.lazymig.restore;

import io.lazymig.images.ThreadState;
import io.lazymig.jni.Syscalls;
import java.io.IOException;

/**
 * The per-thread state only the thread itself can register, injected into it: the robust futex
 * list and rseq. rseq reads its area inside the syscall, so it runs after the lazy handoff (the
 * area's pages are written eagerly anyway: {@link AddressSpace}). The stub is the leader; other
 * threads are refused before restore starts (phase 2 of issue 12 recreates them).
 */
final class ThreadStep implements RestoreStep {
    @Override
    public String name() {
        return "thread state";
    }

    @Override
    public void run(Restoring r) throws IOException {
        restore(r.stub, r.process.leader());
    }

    static void restore(Injector in, ThreadState t) throws IOException {
        if (t.robustList().head() != 0) {
            in.call("set_robust_list", Syscalls.SET_ROBUST_LIST, t.robustList().head(), t.robustList().length());
        }
        if (t.rseq().isRegistered()) {
            in.call("rseq", Syscalls.RSEQ, t.rseq().abiPointer(), t.rseq().abiSize(), 0, t.rseq().signature());
        }
    }
}
