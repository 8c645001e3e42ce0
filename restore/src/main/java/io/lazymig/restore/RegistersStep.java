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
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last step: restore's scratch area unmapped (nothing is injected after it), then each
 * thread's signal mask, general registers (with the syscall-restart fixup for a new task: a
 * thread asleep in a syscall re-enters it, or sees EINTR where the kernel would have restarted it
 * from its restart block) and XSAVE area set by ptrace, the leader (the injecting thread) last,
 * ready for the detach.
 */
final class RegistersStep implements TreeStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    @Override
    public String name() {
        return "registers";
    }

    /** The scratch areas of the whole tree unmapped in one round of stops, then each process's threads. */
    @Override
    public void runAll(List<Restoring> all) throws IOException {
        long t0 = System.nanoTime();
        List<Stub> stubs = new ArrayList<>(all.size());
        for (Restoring r : all) {
            stubs.add(r.stub);
        }
        Stub.unmapScratches(stubs);
        long unmapped = System.nanoTime() - t0;
        for (Restoring r : all) {
            set(r, unmapped);
        }
    }

    private static void set(Restoring r, long unmapped) throws IOException {
        Timing timing = log.isDebugEnabled() ? new Timing() : null;
        Reused buffers = new Reused();
        for (Restoring.Created t : r.created) {
            set(t.tid(), t.state(), buffers, timing);
        }
        set(r.pid, r.process.leader(), buffers, timing);
        if (timing != null) {
            log.debug("restore: registers of {} threads: scratch unmapped in {} us; sigmask {} us, regs copy {} us, regs {} us,"
                    + " xstate copy {} us, xstate {} us", r.created.size() + 1, unmapped / 1000, timing.ns[0] / 1000,
                    timing.ns[4] / 1000, timing.ns[1] / 1000, timing.ns[2] / 1000, timing.ns[3] / 1000);
        }
    }

    /**
     * One register set and one page-aligned XSAVE buffer for all the threads: a fresh 8 KiB direct
     * buffer per thread (allocation, zeroing, a cleaner each) was part of the ~200 us a thread this
     * step took in the agent for a process with 100 threads.
     */
    private static final class Reused {
        static {
            if (UserRegs.SIZE != Registers.SIZE) {
                throw new ExceptionInInitializerError("user_regs_struct is " + Registers.SIZE + " bytes here, "
                        + UserRegs.SIZE + " in the images");
            }
        }

        final Registers regs = Registers.allocate();
        final ByteBuffer xstate = Buffers.allocatePageAligned(Ptrace.XSTATE_BUFFER_SIZE);
    }

    /** Where the per-thread time goes (-v4), summed over the threads: each ptrace request and the copy. */
    private static final class Timing {
        final long[] ns = new long[5];
        long last = System.nanoTime();

        void lap(int part) {
            long now = System.nanoTime();
            ns[part] += now - last;
            last = now;
        }
    }

    private static void lap(Timing timing, int part) {
        if (timing != null) {
            timing.lap(part);
        }
    }

    private static void set(int pid, ThreadState t, Reused b, Timing timing) throws IOException {
        if (timing != null) {
            timing.last = System.nanoTime();
        }
        Ptrace.setSigmask(pid, t.sigmask());
        lap(timing, 0);
        Registers regs = b.regs;
        t.registers().user().write(regs.buffer()); // struct user_regs_struct as it is: no lookup by name
        SyscallRestart.fixForNewTask(regs);
        SyscallRestart.interruptRestartBlock(regs);
        lap(timing, 4);
        Ptrace.setRegisters(pid, regs);
        lap(timing, 1);
        byte[] xstate = t.registers().xstate();
        if (xstate.length > b.xstate.capacity()) {
            throw new RestoreException("the checkpoint's " + xstate.length + "-byte XSAVE area is larger than this CPU's ("
                    + b.xstate.capacity() + " bytes): restore on a host with the same CPU features");
        }
        ByteBuffer xs = b.xstate.clear();
        xs.put(xstate).flip();
        lap(timing, 2);
        try {
            Ptrace.setXstate(pid, xs);
        } catch (NativeException e) {
            throw new RestoreException("this CPU refuses the checkpoint's " + xstate.length + "-byte XSAVE area ("
                    + e.getMessage() + "): restore on a host with the same CPU features", e);
        }
        lap(timing, 3);
    }
}
