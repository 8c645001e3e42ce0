package io.lazymig.restore;

import io.lazymig.jni.Errno;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Registers;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.WaitStatus;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Creates a child process of the tree from its parent's stub, still pristine (nothing of the
 * checkpoint restored in it yet), by a {@code clone3} injected into the parent: a fork (no
 * sharing flags, exit signal SIGCHLD, so the parent's wait(2) sees it as its own), with
 * {@code set_tid} = the child's original pid (or any pid). The parent has PTRACE_O_TRACEFORK for
 * the injection: the child starts traced, stopped before its first instruction, a copy of the
 * stub, which restore then turns into the checkpointed child as it does the root. The
 * {@code clone_args} are written just below the parent stub's stack pointer (the stub has no
 * scratch area yet; its stack is never used by its own code).
 */
final class ProcessFork {
    /** Offsets in struct clone_args (u64 fields). */
    private static final int EXIT_SIGNAL = 32;
    private static final int SET_TID = 64;
    private static final int SET_TID_SIZE = 72;
    /** Bytes below the stub's stack pointer where the arguments go (past any red zone). */
    private static final int BELOW_SP = 1024;

    private ProcessFork() {
    }

    /**
     * Forks {@code pid} (0: any) from {@code parent}, waits for its first stop and returns its pid;
     * EEXIST (the pid is taken here) is a RestoreException that says so.
     */
    static int fork(Stub parent, int pid, String what) throws IOException {
        Registers regs = Ptrace.getRegisters(parent.pid());
        long at = (regs.rsp() - BELOW_SP - 128) & -16L;
        ByteBuffer args = Stub.struct(Syscalls.CLONE_ARGS_SIZE_VER2 + 8);
        args.putLong(EXIT_SIGNAL, SystemInfo.SIGCHLD);
        if (pid != 0) {
            args.putLong(SET_TID, at + Syscalls.CLONE_ARGS_SIZE_VER2).putLong(SET_TID_SIZE, 1)
                    .putInt(Syscalls.CLONE_ARGS_SIZE_VER2, pid);
        }
        args.clear();
        ProcessMemory.write(parent.pid(), at, args);
        Ptrace.setOptions(parent.pid(), Ptrace.DEFAULT_OPTIONS | Ptrace.O_TRACEFORK);
        long rc;
        try {
            rc = parent.cloneTask(at, Syscalls.CLONE_ARGS_SIZE_VER2);
        } finally {
            Ptrace.setOptions(parent.pid(), Ptrace.DEFAULT_OPTIONS);
        }
        if (Syscalls.isError(rc)) {
            int errno = Syscalls.errno(rc);
            if (errno == Errno.EEXIST) {
                throw new RestoreException("pid " + pid + " (" + what + ") is taken on this host; use --any-pid to restore "
                        + "the tree under other pids");
            }
            throw new RestoreException("injected clone3 of " + what + " failed: " + Errno.name(errno) + " ("
                    + Errno.text(errno) + ")");
        }
        int child = (int) rc;
        if (pid != 0 && child != pid) {
            throw new RestoreException("clone3 made process " + child + ", not " + pid);
        }
        WaitStatus st = Ptrace.waitpid(child);
        if (!st.stopped()) {
            throw new RestoreException("new process " + child + " (" + what + ") did not stop after clone3: "
                    + st.describe());
        }
        Ptrace.setOptions(child, Ptrace.DEFAULT_OPTIONS);
        return child;
    }
}
