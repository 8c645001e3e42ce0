package io.lazymig.jni;

/**
 * The registers of a task stopped inside an interrupted syscall hold {@code orig_rax = nr} and
 * {@code rax = -ERESTART*}. Before such a task runs again from registers set by a tracer, the
 * restart the kernel would have done on its own return path must be done explicitly (KERNEL-FACTS
 * §3.6, pitfall 2); afterwards {@code orig_rax = -1}, so the kernel does nothing more.
 */
public final class SyscallRestart {
    private SyscallRestart() {
    }

    /**
     * For the same task resuming (dump with --leave-running): ERESTARTSYS/NOINTR/NOHAND re-execute
     * the syscall; ERESTART_RESTARTBLOCK runs restart_syscall, which finds the task's own restart
     * block (a sleep continues with the time left).
     */
    public static void fixForSameTask(Registers regs) {
        fix(regs, true);
    }

    /**
     * For a new task built from these registers (restore): ERESTART_RESTARTBLOCK becomes EINTR,
     * since the new task has no restart block; the others re-execute the syscall.
     */
    public static void fixForNewTask(Registers regs) {
        fix(regs, false);
    }

    /**
     * For registers in the form a dump stores (the restart already applied: {@code rax =
     * restart_syscall}, {@code rip} on the syscall instruction, {@code orig_rax = -1}) that a new
     * task will resume with: restart_syscall there would run the restart block the new task
     * inherited from whoever created it (the stub's, or for a cloned thread its cloner's: a sleep
     * of someone else's remaining time, KERNEL-FACTS §9), so the syscall returns EINTR instead,
     * as it does in a task without one. Other registers are left as they are.
     */
    public static void interruptRestartBlock(Registers regs) {
        if (regs.origRax() < 0 && regs.rax() == Syscalls.RESTART_SYSCALL) {
            regs.setRax(-Errno.EINTR).setRip(regs.rip() + 2);
        }
    }

    private static void fix(Registers regs, boolean sameTask) {
        long nr = regs.origRax();
        if (nr < 0) {
            return;
        }
        long rax = regs.rax();
        if (rax == -Ptrace.ERESTARTSYS || rax == -Ptrace.ERESTARTNOINTR || rax == -Ptrace.ERESTARTNOHAND) {
            regs.setRax(nr).setRip(regs.rip() - 2);
        } else if (rax == -Ptrace.ERESTART_RESTARTBLOCK) {
            if (sameTask) {
                regs.setRax(Syscalls.RESTART_SYSCALL).setRip(regs.rip() - 2);
            } else {
                regs.setRax(-Errno.EINTR);
            }
        }
        regs.setOrigRax(-1);
    }
}
