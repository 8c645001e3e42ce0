package io.lazymig.dump;

import io.lazymig.images.Registers;
import io.lazymig.images.RobustList;
import io.lazymig.images.Rseq;
import io.lazymig.images.SigAltStack;
import io.lazymig.images.SigInfo;
import io.lazymig.images.ThreadState;
import io.lazymig.images.UserRegs;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.SyscallRestart;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the state of one frozen thread (in a ptrace-stop, traced by the calling thread): its
 * registers as it would resume with them, its XSAVE area, rseq registration, robust list, name,
 * scheduling and the signals queued for it alone (PTRACE_PEEKSIGINFO, which leaves them queued).
 * Its signal mask is the one saved at the freeze (the frozen thread blocks everything). What only
 * an injection tells (clear_child_tid, sigaltstack) is added by {@link Injections}.
 */
final class ThreadReader {
    private ThreadReader() {
    }

    /**
     * A direct buffer for {@link #read}'s XSAVE areas, reused thread to thread by the one dumping
     * thread that owns it: a fresh one per thread (Ptrace.getXstate(tid)) is a zeroed 16 KiB direct
     * allocation and a Cleaner, 100 of them inside the freeze of a 100-thread process.
     */
    static ByteBuffer xstateBuffer() {
        return ByteBuffer.allocateDirect(Ptrace.XSTATE_BUFFER_SIZE);
    }

    /** The parts of {@link #read} timed for the debug log, as indexes of its {@code nanos}. */
    static final int REGS = 0;
    static final int RSEQ_ROBUST = 1;
    static final int STAT = 2;
    static final int SIGINFO = 3;
    static final int BUILD = 4;
    static final int PARTS = 5;

    /**
     * {@code xstate}: a buffer of {@link #xstateBuffer}, and {@code file}, owned by the calling thread; {@code nanos}
     * (length {@link #PARTS}) grows by the time of each part, for the debug log of the "regs" step.
     */
    static ThreadState read(int pid, int tid, io.lazymig.jni.Registers atFreeze, long sigmask,
            Ptrace.RseqConfiguration rseq, XsaveLayout layout, ByteBuffer xstate, ProcFileBuffer file, long[] nanos)
            throws IOException {
        long t0 = System.nanoTime();
        Registers regs = registers(tid, restarted(atFreeze), layout, xstate);
        long t1 = System.nanoTime();
        Ptrace.RobustList robust = Ptrace.getRobustList(tid);
        long t2 = System.nanoTime();
        String stat = ProcTaskSched.stat(pid, tid, file);
        long t3 = System.nanoTime();
        List<SigInfo> pending = pending(tid, false);
        long t4 = System.nanoTime();
        ThreadState t = new ThreadState(tid, regs, sigmask,
                rseq.registered() ? new Rseq(rseq.abiPointer(), rseq.abiSize(), rseq.signature(), 0) : Rseq.NONE,
                robust.head() == 0 ? RobustList.NONE : new RobustList(robust.head(), (int) robust.length()),
                0, ProcTaskSched.comm(tid, stat), SigAltStack.DISABLED, ProcTaskSched.parse(tid, stat),
                pending, 0);
        long t5 = System.nanoTime();
        nanos[REGS] += t1 - t0;
        nanos[RSEQ_ROBUST] += t2 - t1;
        nanos[STAT] += t3 - t2;
        nanos[SIGINFO] += t4 - t3;
        nanos[BUILD] += t5 - t4;
        return t;
    }

    /**
     * The signals queued for thread {@code tid} alone, or with {@code shared} for its whole process,
     * in queue order. They stay queued: the frozen threads block every signal, and the syscalls
     * injected at dump neither take nor add one.
     */
    static List<SigInfo> pending(int tid, boolean shared) throws IOException {
        List<SigInfo> out = new ArrayList<>();
        for (byte[] raw : Ptrace.peekSiginfo(tid, shared)) {
            try {
                out.add(new SigInfo(raw));
            } catch (IllegalArgumentException e) {
                throw new DumpException("thread " + tid + ": a pending " + (shared ? "process-wide " : "")
                        + "signal the image cannot hold: " + e.getMessage(), e);
            }
        }
        return out;
    }

    /**
     * The registers as the task would resume with them: stopped inside an interrupted syscall
     * (orig_rax = nr, rax = -ERESTART*), the kernel's restart is applied as CRIU does at dump
     * (rax = nr or restart_syscall, rip back over the syscall instruction, orig_rax = -1). A
     * restorer that sets registers (sigreturn, SETREGS) cannot make the kernel restart anything,
     * so the image must hold this form; SyscallRestart.fixForNewTask is then a no-op on it, and
     * restart_syscall in a new task (no restart block) returns EINTR, as fixForNewTask would.
     */
    private static io.lazymig.jni.Registers restarted(io.lazymig.jni.Registers r) {
        SyscallRestart.fixForSameTask(r);
        return r;
    }

    /** The general registers and the XSAVE area, in the model's terms. */
    private static Registers registers(int tid, io.lazymig.jni.Registers r, XsaveLayout layout, ByteBuffer xs)
            throws IOException {
        List<String> names = io.lazymig.jni.Registers.NAMES;
        long[] v = new long[names.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.get(names.get(i));
        }
        xs.clear();
        byte[] xstate = new byte[Ptrace.getXstate(tid, xs)];
        xs.get(xstate);
        return new Registers(UserRegs.fromArray(v), xstate, layout);
    }
}
