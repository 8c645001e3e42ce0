package io.lazymig.restore;

import io.lazymig.images.ThreadState;
import io.lazymig.images.UserRegs;
import io.lazymig.jni.Buffers;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Registers;
import io.lazymig.jni.SyscallRestart;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The last step: restore's scratch area unmapped (nothing is injected after it), then each
 * thread's signal mask, general registers (with the syscall-restart fixup for a new task: a
 * thread asleep in a syscall re-enters it, or sees EINTR where the kernel would have restarted it
 * from its restart block) and XSAVE area set by ptrace, the leader (the injecting thread) last,
 * ready for the detach.
 */
final class RegistersStep implements RestoreStep {
    @Override
    public String name() {
        return "registers";
    }

    @Override
    public void run(Restoring r) throws IOException {
        r.stub.unmapScratch();
        for (Restoring.Created t : r.created) {
            set(t.tid(), t.state());
        }
        set(r.pid, r.process.leader());
    }

    static void set(int pid, ThreadState t) throws IOException {
        Ptrace.setSigmask(pid, t.sigmask());
        UserRegs u = t.registers().user();
        long[] values = u.toArray();
        Registers regs = Registers.allocate();
        for (int i = 0; i < values.length; i++) {
            regs.set(Registers.NAMES.get(i), values[i]);
        }
        SyscallRestart.fixForNewTask(regs);
        SyscallRestart.interruptRestartBlock(regs);
        Ptrace.setRegisters(pid, regs);
        byte[] xstate = t.registers().xstate();
        ByteBuffer xs = Buffers.allocatePageAligned(xstate.length);
        xs.put(xstate).flip();
        try {
            Ptrace.setXstate(pid, xs);
        } catch (NativeException e) {
            throw new RestoreException("this CPU refuses the checkpoint's " + xstate.length + "-byte XSAVE area ("
                    + e.getMessage() + "): restore on a host with the same CPU features", e);
        }
    }
}
