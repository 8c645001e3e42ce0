package io.lazymig.dump;

import io.lazymig.jni.NativeException;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Registers;
import io.lazymig.jni.SyscallRestart;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.WaitStatus;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A process held in a ptrace-stop by PTRACE_SEIZE + PTRACE_INTERRUPT, and its release: killed,
 * or resumed exactly where it was. The thread that freezes it is its tracer: every ptrace call
 * for it must come from that thread (ARCHITECTURE invariant 5).
 */
final class FrozenTask implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    private final int pid;
    private final Registers saved;
    private final long sigmask;
    private final long seizedAt;
    private boolean released;

    private FrozenTask(int pid, Registers saved, long sigmask, long seizedAt) {
        this.pid = pid;
        this.seizedAt = seizedAt;
        this.saved = saved;
        this.sigmask = sigmask;
    }

    /** Seizes and interrupts {@code pid}; returns once it sits in the interrupt stop. */
    static FrozenTask freeze(int pid) throws DumpException {
        long seizedAt = System.nanoTime();
        try {
            Ptrace.seize(pid, Ptrace.O_TRACESYSGOOD);
        } catch (NativeException e) {
            throw new DumpException("cannot seize process " + pid + ": " + e.getMessage(), e);
        }
        try {
            Ptrace.interrupt(pid);
            while (true) {
                WaitStatus st = Ptrace.waitpid(pid);
                if (st.terminated()) {
                    throw new DumpException("process " + pid + " exited while being frozen (" + st.describe() + ")");
                }
                if (st.isInterruptStop()) {
                    break;
                }
                if (st.isGroupStop()) {
                    consumeInterruptTrap(pid);
                    break;
                }
                // A signal arrived before the interrupt: deliver it as it would have been, stop again.
                Ptrace.cont(pid, st.isSignalStop() ? st.stopSignal() : 0);
            }
            // Block every signal while syscalls are injected: a SIGCHLD (even a default-ignored one
            // is queued for a traced task) would turn an injection's entry stop into a
            // signal-delivery stop. Signals arriving now stay pending, for after the resume.
            long mask = Ptrace.getSigmask(pid);
            Ptrace.setSigmask(pid, -1L);
            return new FrozenTask(pid, Ptrace.getRegisters(pid), mask, seizedAt);
        } catch (NativeException e) {
            detachQuietly(pid);
            throw new DumpException("cannot freeze process " + pid + ": " + e.getMessage(), e);
        }
    }

    /**
     * A process already stopped by a signal (SIGSTOP, SIGTSTP, ...) reports its group-stop first
     * when seized; the PTRACE_INTERRUPT trap is still pending and would otherwise come at the
     * first resume, in the middle of the first injected syscall. Measured here (6.18): one more
     * PTRACE_CONT gives exactly one more EVENT_STOP (with the stop signal, as the group is still
     * stopped); interrupting again first makes that hold even if the kernel had dropped the
     * pending trap. The group stays stopped: detach puts the process back into its stop.
     */
    private static void consumeInterruptTrap(int pid) throws NativeException, DumpException {
        Ptrace.interrupt(pid);
        Ptrace.cont(pid, 0);
        WaitStatus st = Ptrace.waitpid(pid);
        if (st.terminated()) {
            throw new DumpException("process " + pid + " exited while being frozen (" + st.describe() + ")");
        }
        if (!st.isEvent(Ptrace.EVENT_STOP)) {
            detachQuietly(pid);
            throw new DumpException("cannot freeze stopped process " + pid + ": expected its interrupt trap, got "
                    + st.describe());
        }
        log.debug("dump: process {} is stopped by a signal; it stays stopped", pid);
    }

    /** System.nanoTime() just before PTRACE_SEIZE: where the frozen time starts. */
    long seizedAt() {
        return seizedAt;
    }

    int pid() {
        return pid;
    }

    /** The signal mask the process had (the frozen one blocks everything). */
    long sigmask() {
        return sigmask;
    }

    /** The registers at the freeze, before anything was injected (a copy). */
    Registers registers() {
        return saved.copy();
    }

    /** Kills the process (CRIU's default after a dump) and reaps its ptrace state. */
    void kill() throws NativeException {
        released = true;
        SystemInfo.kill(pid, SystemInfo.SIGKILL);
        waitUntilGone();
    }

    /**
     * Resumes the process untouched: the registers of the freeze (with the syscall restart the
     * kernel would have done itself), then detach.
     */
    void resume() throws NativeException {
        released = true;
        Registers regs = saved.copy();
        SyscallRestart.fixForSameTask(regs);
        Ptrace.setRegisters(pid, regs);
        Ptrace.setSigmask(pid, sigmask);
        Ptrace.detach(pid, 0);
    }

    private void waitUntilGone() throws NativeException {
        while (true) {
            Optional<WaitStatus> st;
            try {
                st = Optional.of(Ptrace.waitpid(pid));
            } catch (NativeException e) {
                return; // ECHILD: gone and no longer traced
            }
            if (st.get().terminated()) {
                return;
            }
            Ptrace.cont(pid, 0);
        }
    }

    /** If neither kill nor resume ran (an error mid-dump), put the process back as it was. */
    @Override
    public void close() {
        if (!released) {
            try {
                resume();
                log.warn("dump: process {} resumed untouched after the failed dump", pid);
            } catch (NativeException e) {
                log.error("dump: could not resume process {}: {}", pid, e.getMessage());
            }
        }
    }

    private static void detachQuietly(int pid) {
        try {
            Ptrace.detach(pid, 0);
        } catch (NativeException ignored) {
            // it is gone or was never stopped; nothing more to undo
        }
    }
}
