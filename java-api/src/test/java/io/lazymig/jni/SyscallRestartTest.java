package io.lazymig.jni;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The restart fix-ups a tracer applies before a task resumes from registers it sets (KERNEL-FACTS §3.6, §9). */
class SyscallRestartTest {
    private static final long SYSCALL_AT = 0x7f0000001000L;

    private static Registers interruptedIn(long nr, long rax) {
        return Registers.allocate().setOrigRax(nr).setRax(rax).setRip(SYSCALL_AT + 2);
    }

    @Test
    void aWaitWithoutTimeoutIsReenteredByBothTheSameAndANewTask() {
        for (boolean same : new boolean[] {true, false}) {
            Registers r = interruptedIn(202, -Ptrace.ERESTARTSYS);
            if (same) {
                SyscallRestart.fixForSameTask(r);
            } else {
                SyscallRestart.fixForNewTask(r);
            }
            assertEquals(202, r.rax());
            assertEquals(SYSCALL_AT, r.rip());
            assertEquals(-1, r.origRax());
        }
    }

    @Test
    void aDumpedRestartBlockBecomesEintrInANewTask() {
        Registers r = interruptedIn(Syscalls.CLOCK_NANOSLEEP, -Ptrace.ERESTART_RESTARTBLOCK);
        SyscallRestart.fixForSameTask(r); // as dump stores it
        assertEquals(Syscalls.RESTART_SYSCALL, r.rax());
        assertEquals(SYSCALL_AT, r.rip());
        SyscallRestart.interruptRestartBlock(r); // as restore resumes it
        assertEquals(-Errno.EINTR, r.rax());
        assertEquals(SYSCALL_AT + 2, r.rip());
        assertEquals(-1, r.origRax());
    }

    @Test
    void registersOutsideARestartAreLeftAsTheyAre() {
        Registers r = Registers.allocate().setOrigRax(-1).setRax(42).setRip(SYSCALL_AT);
        SyscallRestart.interruptRestartBlock(r);
        SyscallRestart.fixForNewTask(r);
        assertEquals(42, r.rax());
        assertEquals(SYSCALL_AT, r.rip());
    }
}
