package io.lazymig.jni;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Ptrace facts and errors that need no tracee and no root. */
class PtraceTest {
    @Test
    void constantsComeFromC() {
        assertEquals(8, Ptrace.KERNEL_SIGSET_SIZE);
        assertThat(Ptrace.XSTATE_BUFFER_SIZE, greaterThanOrEqualTo(16384));
        assertEquals(Syscalls.GETPID, Ptrace.syscallNumber("getpid"));
        assertEquals(Syscalls.USERFAULTFD, Ptrace.syscallNumber("userfaultfd"));
        assertTrue(Syscalls.MMAP != Syscalls.MUNMAP);
        assertThrows(IllegalArgumentException.class, () -> Ptrace.syscallNumber("no_such_call"));
        assertEquals("SIGTRAP", Ptrace.signalName(SystemInfo.SIGTRAP));
        assertEquals("signal 0", Ptrace.signalName(0));
        assertEquals(128, Ptrace.SIGINFO_SIZE);
        assertEquals(Syscalls.RT_TGSIGQUEUEINFO, Ptrace.syscallNumber("rt_tgsigqueueinfo"));
        assertEquals(0, Syscalls.PRIO_PROCESS);
    }

    @Test
    void rawSyscallErrorsAreTheTopPage() {
        assertTrue(Syscalls.isError(-1));
        assertTrue(Syscalls.isError(-Syscalls.MAX_ERRNO));
        assertEquals(Errno.EINVAL, Syscalls.errno(-Errno.EINVAL));
        // An mmap result in the upper half is an address, not an error.
        assertTrue(!Syscalls.isError(-Syscalls.MAX_ERRNO - 1));
        assertTrue(!Syscalls.isError(0));
        assertThrows(IllegalArgumentException.class, () -> Syscalls.errno(4096));
    }

    @Test
    void sigmaskBitsAreOnePerSignal() {
        Set<Long> bits = new HashSet<>();
        for (int sig = 1; sig < SystemInfo.NSIG; sig++) {
            long bit = Ptrace.sigmaskBit(sig);
            assertEquals(1, Long.bitCount(bit), "signal " + sig);
            bits.add(bit);
        }
        assertEquals(SystemInfo.NSIG - 1, bits.size());
        assertThrows(IllegalArgumentException.class, () -> Ptrace.sigmaskBit(0));
        assertThrows(IllegalArgumentException.class, () -> Ptrace.sigmaskBit(SystemInfo.NSIG));
    }

    @Test
    void requestsForANonTraceeAreEsrchNamingTheCall() throws Exception {
        int dead = NoSuchPid.get();
        NativeException e = assertThrows(NativeException.class, () -> Ptrace.getRegisters(dead));
        assertEquals("ptrace(PTRACE_GETREGSET, " + dead + "): ESRCH (No such process)", e.getMessage());
        assertEquals(Errno.ESRCH, e.errno());
        int self = SystemInfo.getpid(); // alive, but nobody traces it
        assertEquals(Errno.ESRCH, assertThrows(NativeException.class, () -> Ptrace.getSigmask(self)).errno());
        assertEquals(Errno.ESRCH, assertThrows(NativeException.class, () -> Ptrace.cont(dead, 0)).errno());
        assertEquals(Errno.ESRCH, assertThrows(NativeException.class, () -> Ptrace.getXstate(dead)).errno());
        assertEquals(Errno.ESRCH,
                assertThrows(NativeException.class, () -> Ptrace.getRseqConfiguration(dead)).errno());
        assertEquals(Errno.ESRCH, assertThrows(NativeException.class, () -> Ptrace.peekData(dead, 4096)).errno());
        NativeException peek = assertThrows(NativeException.class, () -> Ptrace.peekSiginfo(self, true));
        assertEquals("ptrace(PTRACE_PEEKSIGINFO SHARED, " + self + "): ESRCH (No such process)", peek.getMessage());
        NativeException w = assertThrows(NativeException.class, () -> Ptrace.waitpid(dead));
        assertEquals("waitpid(" + dead + ", __WALL): ECHILD (No child processes)", w.getMessage());
        assertTrue(Ptrace.killAndReap(dead).isEmpty());
    }

    @Test
    void badArgumentsAreRefusedBeforeC() {
        assertThrows(IllegalArgumentException.class, () -> Ptrace.getRegisters(0));
        assertThrows(IllegalArgumentException.class, () -> Ptrace.cont(1, -1));
        assertThrows(IllegalArgumentException.class, () -> Ptrace.detach(1, SystemInfo.NSIG));
        assertThrows(IllegalArgumentException.class, () -> Ptrace.getXstate(1, ByteBuffer.allocateDirect(64)));
        assertThrows(IllegalArgumentException.class, () -> Ptrace.setXstate(1, ByteBuffer.allocateDirect(0)));
        assertThrows(IllegalArgumentException.class, () -> Ptrace.setXstate(1, ByteBuffer.allocate(512)));
        assertThrows(IllegalArgumentException.class,
                () -> Ptrace.spawnTraced("/bin/true", new String[] { "a\0b" }, new String[0], 0));
        assertThrows(NullPointerException.class, () -> Ptrace.spawnTraced("/bin/true", null, new String[0], 0));
        assertThrows(IllegalArgumentException.class,
                () -> Ptrace.spawnTraced("", new String[] { "x" }, new String[0], 0));
        assertThrows(IllegalArgumentException.class, () -> new SyscallInjector(0, 4096));
        assertThrows(IllegalArgumentException.class, () -> new SyscallInjector(1, 0));
        assertThrows(IllegalArgumentException.class, () -> new SyscallInjector(1, 4096).inject(1, 1, 2, 3, 4, 5, 6, 7));
    }

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void spawnOfAMissingProgramNamesExecveAndThePath() {
        NativeException e = assertThrows(NativeException.class, () -> Ptrace.spawnTraced("/nonexistent/lazymig-prog",
                new String[] { "prog" }, new String[0], Ptrace.DEFAULT_OPTIONS));
        assertEquals("execve(/nonexistent/lazymig-prog): ENOENT (No such file or directory)", e.getMessage());
    }

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void spawnWithAClosedStdioFdIsEbadf() throws Exception {
        FileDescriptor closed = FileDescriptor.open("/dev/null", FileDescriptor.O_WRONLY, 0);
        closed.close();
        NativeException e = assertThrows(NativeException.class, () -> Ptrace.spawnTraced("/bin/true",
                new String[] { "true" }, new String[0], null, closed, null, Ptrace.DEFAULT_OPTIONS));
        assertEquals(Errno.EBADF, e.errno());
    }

    @Test
    void findsASyscallInstructionInThisJvm() throws Exception {
        int self = SystemInfo.getpid();
        long at = SyscallInjector.findSyscallInstruction(self);
        ByteBuffer two = ByteBuffer.allocateDirect(2);
        ProcessMemory.read(self, at, two);
        assertEquals(0x0f, two.get(0));
        assertEquals(0x05, two.get(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SyscallInjector.findSyscallInstruction(self, 8192, 4096));
        assertThat(e.getMessage(), containsString("empty range"));
    }
}
