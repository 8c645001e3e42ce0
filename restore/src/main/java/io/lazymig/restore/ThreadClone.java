package io.lazymig.restore;

import io.lazymig.images.ThreadState;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.WaitStatus;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Recreates one thread of the checkpoint inside the process being restored, as pthread_create
 * would have made it, by a {@code clone3} injected into the leader (KERNEL-FACTS §9): the flags
 * glibc uses, {@code tls} = the thread's fs_base, {@code set_tid} = its original tid, and the
 * thread's clear_child_tid as both {@code child_tid} (the kernel clears it and wakes the futex
 * when the thread exits: pthread_join) and {@code parent_tid}. The leader must have
 * PTRACE_O_TRACECLONE: the new thread starts traced and stopped, having run no user instruction
 * ({@code rip} after the leader's syscall instruction, {@code rsp} the leader's), until its own
 * registers are set.
 */
final class ThreadClone {
    /** Offsets in struct clone_args (u64 fields). */
    private static final int FLAGS = 0;
    private static final int CHILD_TID = 16;
    private static final int PARENT_TID = 24;
    private static final int TLS = 56;
    private static final int SET_TID = 64;
    private static final int SET_TID_SIZE = 72;

    private static final long THREAD_FLAGS = Syscalls.CLONE_VM | Syscalls.CLONE_FS | Syscalls.CLONE_FILES
            | Syscalls.CLONE_SIGHAND | Syscalls.CLONE_THREAD | Syscalls.CLONE_SYSVSEM | Syscalls.CLONE_SETTLS;
    private static final long TID_FLAGS = Syscalls.CLONE_PARENT_SETTID | Syscalls.CLONE_CHILD_CLEARTID;

    private ThreadClone() {
    }

    /**
     * Creates thread {@code t} from {@code leader} and waits for its first stop; {@code sameTid}:
     * with its original tid (false when the process itself was restored under another pid: the
     * kernel picks one). Returns the new thread's tid.
     */
    static int create(Stub leader, ThreadState t, boolean sameTid) throws IOException {
        leader.resetScratch();
        long setTid = 0;
        if (sameTid) {
            setTid = leader.put(Stub.struct(8).putInt(0, t.tid()).putInt(4, 0));
        }
        long clearTid = t.clearTidAddress();
        ByteBuffer args = Stub.struct(Syscalls.CLONE_ARGS_SIZE_VER2)
                .putLong(FLAGS, THREAD_FLAGS | (clearTid != 0 ? TID_FLAGS : 0))
                .putLong(CHILD_TID, clearTid)
                .putLong(PARENT_TID, clearTid)
                .putLong(TLS, t.registers().user().fsBase())
                .putLong(SET_TID, setTid)
                .putLong(SET_TID_SIZE, sameTid ? 1 : 0);
        long at = leader.put(args);
        long rc = leader.cloneTask(at, Syscalls.CLONE_ARGS_SIZE_VER2);
        if (Syscalls.isError(rc)) {
            int errno = Syscalls.errno(rc);
            if (errno == Errno.EEXIST) {
                throw new RestoreException("thread id " + t.tid() + " is taken on this host: cannot recreate thread "
                        + t.tid() + " of process " + leader.pid());
            }
            throw new RestoreException("injected clone3 of thread " + t.tid() + " failed: " + Errno.name(errno)
                    + " (" + Errno.text(errno) + ")");
        }
        int tid = (int) rc;
        if (sameTid && tid != t.tid()) {
            throw new RestoreException("clone3 made thread " + tid + ", not " + t.tid());
        }
        awaitFirstStop(tid);
        return tid;
    }

    /**
     * The new thread's first stop: SIGSTOP (the leader was attached by TRACEME: the injection
     * that follows resumes it with no signal, so the SIGSTOP is never delivered) or, had it been
     * seized, PTRACE_EVENT_STOP.
     */
    private static void awaitFirstStop(int tid) throws IOException {
        WaitStatus st = Ptrace.waitpid(tid);
        if (!st.stopped()) {
            throw new RestoreException("new thread " + tid + " did not stop after clone3: " + st.describe());
        }
    }
}
