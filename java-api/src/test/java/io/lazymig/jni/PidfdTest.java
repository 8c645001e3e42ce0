package io.lazymig.jni;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * pidfds of this JVM and of its own children. No root needed: pidfd_getfd needs
 * PTRACE_MODE_ATTACH_REALCREDS, which a process always has over itself and, with the same
 * credentials, over a dumpable child (Yama ptrace_scope 0 or 1 allows descendants).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PidfdTest {
    /** Above the kernel's highest possible pid_max (4194304), so never a live process. */
    private static final int NO_SUCH_PID = 99_999_999;

    @TempDir
    Path tmp;

    @Test
    void getfdOfThisProcessDuplicatesTheOpenFile() throws Exception {
        Path file = Files.writeString(tmp.resolve("mine"), "0123456789").toRealPath();
        try (Pidfd self = Pidfd.open(SystemInfo.getpid());
                FileDescriptor original = FileDescriptor.open(file.toString(), FileDescriptor.O_RDWR, 0);
                FileDescriptor copy = self.getfd(original.fd())) {
            assertEquals(SystemInfo.getpid(), self.pid());
            assertNotEquals(original.fd(), copy.fd());
            assertEquals(file, Files.readSymbolicLink(Path.of("/proc/self/fd/" + copy.fd())));
            assertCloseOnExec(copy.fd());
            assertCloseOnExec(self.fd().fd());
            // Same open file description: the offset moved by one is seen by the other.
            ByteBuffer four = ByteBuffer.allocateDirect(4);
            assertEquals(4, original.read(four));
            ByteBuffer next = ByteBuffer.allocateDirect(2);
            assertEquals(2, copy.read(next));
            assertEquals("45", new String(new byte[] {next.get(0), next.get(1)}, US_ASCII));
        }
    }

    @Test
    void getfdOfAChildTakesItsStdout() throws Exception {
        Process child = new ProcessBuilder("sleep", "30").start();
        try (Pidfd pidfd = Pidfd.open((int) child.pid());
                FileDescriptor childStdout = pidfd.getfd(1)) {
            // fd 1 of the child is the write end of the pipe the JVM reads as its input stream.
            byte[] msg = "written into the child's stdout".getBytes(US_ASCII);
            ByteBuffer buf = ByteBuffer.allocateDirect(msg.length);
            buf.put(msg).flip();
            assertEquals(msg.length, childStdout.write(buf));
            assertEquals("written into the child's stdout", new String(child.getInputStream().readNBytes(msg.length), US_ASCII));

            NativeException notOpen = assertThrows(NativeException.class, () -> pidfd.getfd(1000));
            assertEquals(Errno.EBADF, notOpen.errno());
            assertThat(notOpen.getMessage(), containsString("pidfd_getfd(pid " + child.pid() + ", fd 1000): EBADF"));
        } finally {
            reap(child);
        }
    }

    @Test
    void sendSignalKillsTheChildAndThenReportsEsrch() throws Exception {
        Process child = new ProcessBuilder("sleep", "30").start();
        try (Pidfd pidfd = Pidfd.open((int) child.pid())) {
            pidfd.sendSignal(0); // alive
            pidfd.sendSignal(SystemInfo.SIGKILL);
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            assertEquals(128 + SystemInfo.SIGKILL, child.exitValue());
            assertFalse(child.isAlive());
            // Reaped: the pidfd still names that (dead) process, never a newcomer with its pid.
            NativeException gone = assertThrows(NativeException.class, () -> pidfd.sendSignal(SystemInfo.SIGKILL));
            assertEquals(Errno.ESRCH, gone.errno());
            assertThat(gone.getMessage(), containsString("pidfd_send_signal(pid " + child.pid()));
            assertEquals(Errno.ESRCH, assertThrows(NativeException.class, () -> pidfd.getfd(0)).errno());
        } finally {
            reap(child);
        }
    }

    @Test
    void deadPidIsEsrchNamingTheCall() {
        NativeException e = assertThrows(NativeException.class, () -> Pidfd.open(NO_SUCH_PID));
        assertEquals(Errno.ESRCH, e.errno());
        assertEquals("pidfd_open(99999999): ESRCH (No such process)", e.getMessage());
    }

    @Test
    void badInputIsRejectedAndClosedPidfdIsEbadf() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> Pidfd.open(0));
        assertThrows(IllegalArgumentException.class, () -> Pidfd.open(-1));
        Pidfd self = Pidfd.open(SystemInfo.getpid());
        assertThrows(IllegalArgumentException.class, () -> self.getfd(-1));
        assertThrows(IllegalArgumentException.class, () -> self.sendSignal(-1));
        assertThrows(IllegalArgumentException.class, () -> self.sendSignal(SystemInfo.NSIG));
        self.close();
        self.close();
        assertFalse(self.isOpen());
        NativeException e = assertThrows(NativeException.class, () -> self.getfd(0));
        assertEquals(Errno.EBADF, e.errno());
        assertThat(e.getMessage(), containsString("on a closed pidfd"));
        assertEquals(Errno.EBADF, assertThrows(NativeException.class, () -> self.sendSignal(0)).errno());
    }

    private static void assertCloseOnExec(int fd) throws IOException {
        String fdinfo = Files.readString(Path.of("/proc/self/fdinfo/" + fd));
        String flags = fdinfo.lines().filter(l -> l.startsWith("flags:")).findFirst().orElseThrow();
        int octal = Integer.parseInt(flags.substring("flags:".length()).trim(), 8);
        assertEquals(FileDescriptor.O_CLOEXEC, octal & FileDescriptor.O_CLOEXEC, "O_CLOEXEC on fd " + fd + ": " + flags);
    }

    /** SIGKILLs the child and waits for its exit, at most 30 s. */
    private static void reap(Process child) throws InterruptedException {
        child.destroyForcibly();
        assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child " + child.pid() + " survived SIGKILL for 30 s");
    }
}
