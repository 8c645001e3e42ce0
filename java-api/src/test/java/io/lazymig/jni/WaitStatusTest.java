package io.lazymig.jni;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Decoding of statuses built by the C macros (W_EXITCODE, W_STOPCODE) and of measured raw values. */
class WaitStatusTest {
    @Test
    void exitWithACode() {
        WaitStatus s = WaitStatus.exitedWith(42, 3);
        assertTrue(s.exited());
        assertTrue(s.terminated());
        assertEquals(3, s.exitCode());
        assertFalse(s.signaled());
        assertFalse(s.stopped());
        assertEquals(0, s.event());
        assertEquals(42, s.pid());
        assertThat(s.toString(), containsString("pid 42 exited with 3"));
    }

    @Test
    void deathBySignal() {
        WaitStatus s = WaitStatus.killedBy(7, SystemInfo.SIGKILL);
        assertTrue(s.signaled());
        assertTrue(s.terminated());
        assertEquals(SystemInfo.SIGKILL, s.termSignal());
        assertFalse(s.exited());
        assertFalse(s.coreDumped());
        assertThat(s.describe(), containsString("killed by SIGKILL"));
    }

    @Test
    void syscallStopIsSigtrapOr0x80() {
        WaitStatus s = WaitStatus.stoppedBy(1, Ptrace.SYSCALL_STOP_SIGNAL, 0);
        assertTrue(s.stopped());
        assertTrue(s.isSyscallStop());
        assertFalse(s.isSignalStop());
        assertFalse(s.isInterruptStop());
        assertEquals(0, s.event());
    }

    @Test
    void interruptStopMatchesTheMeasuredStatus() {
        WaitStatus built = WaitStatus.stoppedBy(1, SystemInfo.SIGTRAP, Ptrace.EVENT_STOP);
        // KERNEL-FACTS §2: PTRACE_SEIZE + PTRACE_INTERRUPT reported 0x80057f on this kernel.
        WaitStatus measured = WaitStatus.of(1, 0x80057f);
        assertEquals(measured.raw(), built.raw());
        assertTrue(measured.isInterruptStop());
        assertFalse(measured.isGroupStop());
        assertFalse(measured.isSignalStop());
        assertFalse(measured.isSyscallStop());
        assertEquals(Ptrace.EVENT_STOP, measured.event());
        assertEquals(SystemInfo.SIGTRAP, measured.stopSignal());
        assertThat(measured.describe(), containsString("interrupt-stop"));
    }

    @Test
    void groupStopOfASeizedTracee() {
        WaitStatus s = WaitStatus.stoppedBy(1, SystemInfo.SIGSTOP, Ptrace.EVENT_STOP);
        assertTrue(s.isGroupStop());
        assertFalse(s.isInterruptStop());
        assertEquals(SystemInfo.SIGSTOP, s.stopSignal());
        assertThat(s.describe(), containsString("group-stop by SIGSTOP"));
    }

    @Test
    void eventStops() {
        WaitStatus exit = WaitStatus.stoppedBy(1, SystemInfo.SIGTRAP, Ptrace.EVENT_EXIT);
        assertTrue(exit.isEvent(Ptrace.EVENT_EXIT));
        assertFalse(exit.isEvent(Ptrace.EVENT_STOP));
        assertFalse(exit.isEvent(0));
        assertFalse(exit.isInterruptStop());
        assertFalse(exit.isSignalStop());
        assertEquals(Ptrace.EVENT_EXIT, exit.event());
        assertThat(exit.describe(), containsString("ptrace event " + Ptrace.EVENT_EXIT));
    }

    @Test
    void signalDeliveryStopsIncludingTheExecTrap() {
        WaitStatus usr1 = WaitStatus.stoppedBy(1, SystemInfo.SIGUSR1, 0);
        assertTrue(usr1.isSignalStop());
        assertEquals(SystemInfo.SIGUSR1, usr1.stopSignal());
        assertThat(usr1.describe(), containsString("signal-delivery-stop SIGUSR1"));
        // The SIGTRAP after execve of a PTRACE_TRACEME child: W_STOPCODE(SIGTRAP) = 0x57f.
        WaitStatus exec = WaitStatus.of(1, 0x57f);
        assertEquals(WaitStatus.stoppedBy(1, SystemInfo.SIGTRAP, 0).raw(), exec.raw());
        assertTrue(exec.isSignalStop());
        assertEquals(SystemInfo.SIGTRAP, exec.stopSignal());
    }

    @Test
    void continued() {
        WaitStatus s = WaitStatus.continuedStatus(1);
        assertTrue(s.continued());
        assertFalse(s.stopped());
        assertFalse(s.exited());
        assertFalse(s.signaled());
    }

    @Test
    void equalityIsPidAndRaw() {
        assertEquals(WaitStatus.exitedWith(5, 0), WaitStatus.of(5, WaitStatus.exitedWith(9, 0).raw()));
        assertFalse(WaitStatus.exitedWith(5, 0).equals(WaitStatus.exitedWith(6, 0)));
    }
}
