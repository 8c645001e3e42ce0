package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Registers;
import io.lazymig.jni.SyscallInjector;
import io.lazymig.jni.SyscallProgram;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.WaitStatus;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * ptrace against real children as root: spawn, registers, injection, seize/interrupt/detach,
 * xstate, sigmask, rseq, event messages. Each test spawns its tracee on its own thread (the
 * tracer) and kills and reaps it in finally.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PtraceIT {
    @TempDir
    static Path dir;
    static Path target;

    @BeforeAll
    static void buildTarget() throws Exception {
        target = PtraceTarget.build(dir);
    }

    private static long page() {
        return SystemInfo.PAGE_SIZE;
    }

    @Test
    void spawnedChildStopsAtExecWithCleanSignalsFdsAndThisThreadAsTracer() throws Exception {
        int pid = Ptrace.spawnTraced("/bin/sleep", new String[] { "sleep", "600" }, new String[0], Ptrace.DEFAULT_OPTIONS);
        try {
            assertThat(PtraceTarget.procStatus(pid, "State"), containsString("t (tracing stop)"));
            assertEquals(Integer.toString(SystemInfo.gettid()), PtraceTarget.procStatus(pid, "TracerPid"));
            assertEquals("0000000000000000", PtraceTarget.procStatus(pid, "SigBlk"), "the JVM thread's mask leaked");
            assertEquals("0000000000000000", PtraceTarget.procStatus(pid, "SigIgn"), "ignored signals leaked");
            List<String> fds = new ArrayList<>();
            try (var s = Files.list(Path.of("/proc", Integer.toString(pid), "fd"))) {
                s.forEach(p -> fds.add(p.getFileName().toString()));
            }
            assertTrue(List.of("0", "1", "2").containsAll(fds), "JVM fds leaked into the tracee: " + fds);
            Registers regs = Ptrace.getRegisters(pid);
            assertEquals(Syscalls.EXECVE, regs.origRax());
            assertEquals(0, regs.rax());
        } finally {
            Ptrace.killAndReap(pid);
        }
    }

    @Test
    void argvEnvpAndStdoutRedirection() throws Exception {
        Path out = dir.resolve("env.out");
        Files.deleteIfExists(out);
        int pid;
        try (FileDescriptor fd = FileDescriptor.open(out.toString(), FileDescriptor.O_WRONLY | FileDescriptor.O_CREAT, 0600)) {
            pid = Ptrace.spawnTraced("/usr/bin/env", new String[] { "env" }, new String[] { "LAZYMIG_A=1", "B=two words" },
                    null, fd, fd, Ptrace.DEFAULT_OPTIONS);
        }
        try {
            Ptrace.cont(pid, 0);
            WaitStatus s = Ptrace.waitpid(pid);
            assertTrue(s.exited(), s.toString());
            assertEquals(0, s.exitCode());
            assertEquals(List.of("LAZYMIG_A=1", "B=two words"), Files.readAllLines(out));
        } finally {
            Ptrace.killAndReap(pid);
        }
    }

    @Test
    void spawnFailuresNameTheStep() throws Exception {
        NativeException missing = assertThrows(NativeException.class, () -> Ptrace.spawnTraced("/nonexistent/prog",
                new String[] { "prog" }, new String[0], Ptrace.DEFAULT_OPTIONS));
        assertEquals("execve(/nonexistent/prog): ENOENT (No such file or directory)", missing.getMessage());
        Path plain = Files.writeString(dir.resolve("not-executable"), "data\n");
        Files.setPosixFilePermissions(plain, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        NativeException notExecutable = assertThrows(NativeException.class, () -> Ptrace.spawnTraced(plain.toString(),
                new String[] { "x" }, new String[0], Ptrace.DEFAULT_OPTIONS));
        assertEquals("execve(" + plain + "): EACCES (Permission denied)", notExecutable.getMessage());
    }

    @Test
    void registersAreReadAndWrittenOnlyByTheTracerThread() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir);
        try {
            Registers regs = Ptrace.getRegisters(t.pid);
            assertNotEquals(0, regs.rip());
            assertNotEquals(0, regs.rsp());
            Registers changed = regs.copy().setR12(0x1122334455667788L).setRbx(-2).setR15(42);
            Ptrace.setRegisters(t.pid, changed);
            Registers back = Ptrace.getRegisters(t.pid);
            assertEquals(0x1122334455667788L, back.r12());
            assertEquals(-2, back.rbx());
            assertEquals(42, back.r15());
            assertEquals(changed, back);
            Ptrace.setRegisters(t.pid, regs);
            assertEquals(regs, Ptrace.getRegisters(t.pid));

            // Another thread is not the tracer: the kernel answers as if there were no tracee.
            CompletableFuture<Integer> other = CompletableFuture.supplyAsync(() -> {
                try {
                    Ptrace.getRegisters(t.pid);
                    return 0;
                } catch (NativeException e) {
                    return e.errno();
                }
            });
            assertEquals(Errno.ESRCH, other.get(30, TimeUnit.SECONDS));
        } finally {
            t.close();
        }
    }

    @Test
    void injectedGetpidReturnsTheChildsPidAndTheChildRunsOn() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
        try {
            Registers saved = Ptrace.getRegisters(t.pid);
            long insn = SyscallInjector.findSyscallInstruction(t.pid);
            ByteBuffer two = ByteBuffer.allocateDirect(2);
            ProcessMemory.read(t.pid, insn, two);
            assertEquals(0x0f, two.get(0));
            assertEquals(0x05, two.get(1));

            SyscallInjector inj = new SyscallInjector(t.pid, insn);
            assertEquals(t.pid, inj.inject(Syscalls.GETPID));
            assertEquals(SystemInfo.getpid(), inj.inject(Syscalls.GETPPID));
            Registers after = Ptrace.getRegisters(t.pid);
            assertEquals(insn + 2, after.rip());
            assertEquals(Syscalls.GETPPID, after.origRax());

            // Back to the saved state (stopped in pause() with -ERESTARTNOHAND): pause() restarts.
            Ptrace.setRegisters(t.pid, saved);
            Ptrace.cont(t.pid, 0);
            while (!t.status("State").startsWith("S")) {
                assertTrue(Ptrace.poll(t.pid).isEmpty(), "the target must run on after the injection");
                Thread.sleep(5);
            }
            String syscall = Files.readString(Path.of("/proc", Integer.toString(t.pid), "syscall"));
            assertThat(syscall, startsWith(Syscalls.PAUSE + " "));
        } finally {
            t.close();
        }
    }

    @Test
    void injectedMmapIsVisibleInMapsAndMunmapRemovesIt() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir);
        try {
            Registers saved = Ptrace.getRegisters(t.pid);
            SyscallInjector inj = new SyscallInjector(t.pid, SyscallInjector.findSyscallInstruction(t.pid));
            long len = 2 * page();
            long addr = inj.inject(Syscalls.MMAP, 0, len, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                    Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0);
            assertFalse(Syscalls.isError(addr), "mmap: " + addr);
            String range = Long.toHexString(addr) + "-" + Long.toHexString(addr + len) + " rw-p ";
            assertTrue(t.maps().stream().anyMatch(l -> l.startsWith(range)), "no " + range + " in " + t.maps());

            ByteBuffer data = ByteBuffer.allocateDirect((int) len);
            for (int i = 0; i < len; i++) {
                data.put(i, (byte) i);
            }
            ProcessMemory.write(t.pid, addr, data);
            ByteBuffer back = ByteBuffer.allocateDirect((int) len);
            ProcessMemory.read(t.pid, addr, back);
            assertEquals(data.clear(), back.clear());

            // An error of the injected syscall is a value: munmap of an unaligned address.
            long bad = inj.inject(Syscalls.MUNMAP, addr + 1, page());
            assertTrue(Syscalls.isError(bad));
            assertEquals(Errno.EINVAL, Syscalls.errno(bad));

            assertEquals(0, inj.inject(Syscalls.MUNMAP, addr, len));
            assertFalse(t.maps().stream().anyMatch(l -> l.startsWith(Long.toHexString(addr) + "-")));
            Ptrace.setRegisters(t.pid, saved);
        } finally {
            t.close();
        }
    }

    @Test
    void syscallProgramRunsItsTableInOneStopAndTheTargetRunsOn() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
        try {
            Registers saved = Ptrace.getRegisters(t.pid);
            SyscallInjector inj = new SyscallInjector(t.pid, SyscallInjector.findSyscallInstruction(t.pid));
            long area = inj.inject(Syscalls.MMAP, 0, page(), Syscalls.PROT_READ | Syscalls.PROT_WRITE | Syscalls.PROT_EXEC,
                    Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0);
            assertFalse(Syscalls.isError(area), "mmap: " + area);
            ByteBuffer program = ByteBuffer.allocateDirect((int) page()).order(java.nio.ByteOrder.nativeOrder());
            program.put(SyscallProgram.code());
            long table = area + 64;
            program.position(64);
            SyscallProgram.add(program, Syscalls.GETPID);
            SyscallProgram.add(program, Syscalls.GETPPID);
            SyscallProgram.add(program, Syscalls.MUNMAP, area + 1, page()); // an error is a value
            SyscallProgram.end(program);
            ProcessMemory.write(t.pid, area, program.clear());
            long before = Ptrace.getSigmask(t.pid);
            Ptrace.setSigmask(t.pid, SyscallProgram.MASK);

            SyscallProgram.run(List.of(new SyscallProgram.Run(t.pid, area, table)));

            assertEquals(area + SyscallProgram.codeBytes(), Ptrace.getRegisters(t.pid).rip(), "stopped after its int3");
            ByteBuffer back = ByteBuffer.allocateDirect(SyscallProgram.tableBytes(3));
            ProcessMemory.read(t.pid, table, back);
            back.clear();
            assertEquals(t.pid, SyscallProgram.result(back, 0));
            assertEquals(SystemInfo.getpid(), SyscallProgram.result(back, 1));
            assertEquals(-Errno.EINVAL, SyscallProgram.result(back, 2));
            // the int3's SIGTRAP was a stop, never delivered: the default action would have killed it
            Ptrace.setSigmask(t.pid, before);
            assertEquals(0, inj.inject(Syscalls.MUNMAP, area, page()));
            Ptrace.setRegisters(t.pid, saved);
            Ptrace.cont(t.pid, 0);
            while (!t.status("State").startsWith("S")) {
                assertTrue(Ptrace.poll(t.pid).isEmpty(), "the target must run on after the program");
                Thread.sleep(5);
            }
        } finally {
            t.close();
        }
    }

    @Test
    void syscallProgramReportsAPendingSignalInsteadOfItsInt3() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
        try {
            SyscallInjector inj = new SyscallInjector(t.pid, SyscallInjector.findSyscallInstruction(t.pid));
            long area = inj.inject(Syscalls.MMAP, 0, page(), Syscalls.PROT_READ | Syscalls.PROT_WRITE | Syscalls.PROT_EXEC,
                    Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0);
            ByteBuffer program = ByteBuffer.allocateDirect((int) page()).order(java.nio.ByteOrder.nativeOrder());
            program.put(SyscallProgram.code());
            program.position(64);
            SyscallProgram.add(program, Syscalls.GETPID);
            SyscallProgram.end(program);
            ProcessMemory.write(t.pid, area, program.clear());
            Ptrace.setSigmask(t.pid, 0);
            SystemInfo.kill(t.pid, SystemInfo.SIGUSR1); // let through: delivered before the program runs
            Ptrace.UnexpectedStopException e = assertThrows(Ptrace.UnexpectedStopException.class,
                    () -> SyscallProgram.run(List.of(new SyscallProgram.Run(t.pid, area, area + 64))));
            assertTrue(e.status().isSignalStop());
            assertEquals(SystemInfo.SIGUSR1, e.status().stopSignal());
            assertThat(e.getMessage(), containsString("int3 at the end of a syscall program"));
        } finally {
            t.close();
        }
    }

    @Test
    void injectionReportsASignalDeliveryStop() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir);
        try {
            SyscallInjector inj = new SyscallInjector(t.pid, SyscallInjector.findSyscallInstruction(t.pid));
            SystemInfo.kill(t.pid, SystemInfo.SIGUSR1); // pending: delivered before the syscall runs
            Ptrace.UnexpectedStopException e = assertThrows(Ptrace.UnexpectedStopException.class,
                    () -> inj.inject(Syscalls.GETPID));
            assertTrue(e.status().isSignalStop());
            assertEquals(SystemInfo.SIGUSR1, e.status().stopSignal());
            assertThat(e.getMessage(), containsString("expected the syscall-entry stop of syscall " + Syscalls.GETPID));
            assertThat(e.getMessage(), containsString("signal-delivery-stop SIGUSR1"));
            // The stop is left as it is: suppress the signal and inject again.
            assertEquals(t.pid, inj.inject(Syscalls.GETPID));
        } finally {
            t.close();
        }
    }

    @Test
    void injectionAtANonExecutableAddressReportsTheFault() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
        try {
            SyscallInjector inj = new SyscallInjector(t.pid, t.marker); // data, not code
            Ptrace.UnexpectedStopException e = assertThrows(Ptrace.UnexpectedStopException.class,
                    () -> inj.inject(Syscalls.GETPID));
            assertEquals(SystemInfo.SIGSEGV, e.status().stopSignal());
            assertThat(e.getMessage(), containsString("signal-delivery-stop SIGSEGV"));
        } finally {
            t.close();
        }
    }

    @Test
    void injectionReportsAnExit() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir);
        try {
            SyscallInjector inj = new SyscallInjector(t.pid, SyscallInjector.findSyscallInstruction(t.pid));
            Ptrace.UnexpectedStopException e = assertThrows(Ptrace.UnexpectedStopException.class,
                    () -> inj.inject(Syscalls.EXIT_GROUP, 7));
            assertTrue(e.status().exited());
            assertEquals(7, e.status().exitCode());
            assertThat(e.getMessage(), containsString("syscall-exit stop"));
            assertThat(e.getMessage(), containsString("exited with 7"));
        } finally {
            t.close();
        }
    }

    @Test
    void seizeInterruptAndDetachLeaveANonChildRunning() throws Exception {
        // sh starts sleep in the background and exits: sleep is reparented, not this JVM's child.
        Process sh = new ProcessBuilder("/bin/sh", "-c", "/bin/sleep 600 </dev/null >/dev/null 2>&1 & echo $!").start();
        int pid;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(sh.getInputStream(), StandardCharsets.UTF_8))) {
            pid = Integer.parseInt(r.readLine().trim());
        }
        assertTrue(sh.waitFor(30, TimeUnit.SECONDS));
        try {
            assertNotEquals(Integer.toString(SystemInfo.getpid()), PtraceTarget.procStatus(pid, "PPid"));
            while (!blockedIn(pid, Syscalls.CLOCK_NANOSLEEP)) {
                Thread.sleep(5); // still being forked/exec'd by sh, or starting up
            }
            Ptrace.seize(pid, Ptrace.O_TRACESYSGOOD);
            Ptrace.interrupt(pid);
            WaitStatus s = Ptrace.waitpid(pid);
            assertTrue(s.isInterruptStop(), s.toString());
            assertEquals(Ptrace.EVENT_STOP, s.event());
            Registers regs = Ptrace.getRegisters(pid);
            assertEquals(Syscalls.CLOCK_NANOSLEEP, regs.origRax(), "sleep(1) waits in clock_nanosleep");

            Ptrace.detach(pid, 0);
            assertEquals("0", PtraceTarget.procStatus(pid, "TracerPid"));
            // Detached from the interrupt-stop, the sleep goes on through restart_syscall.
            while (!blockedIn(pid, Syscalls.RESTART_SYSCALL)) {
                assertFalse(PtraceTarget.procStatus(pid, "State").startsWith("t"), "still stopped after the detach");
                Thread.sleep(5);
            }
            assertEquals(Errno.ECHILD, assertThrows(NativeException.class, () -> Ptrace.waitpid(pid)).errno());
            assertEquals(Errno.ESRCH, assertThrows(NativeException.class, () -> Ptrace.getRegisters(pid)).errno());
        } finally {
            SystemInfo.kill(pid, SystemInfo.SIGKILL); // its parent (init) reaps it
        }
    }

    /** Whether {@code pid} is blocked in syscall {@code nr} (/proc/PID/syscall names it then). */
    private static boolean blockedIn(int pid, int nr) throws Exception {
        String syscall = Files.readString(Path.of("/proc", Integer.toString(pid), "syscall"));
        return PtraceTarget.procStatus(pid, "State").startsWith("S") && syscall.startsWith(nr + " ");
    }

    @Test
    void interruptOfATracemeChildIsRefused() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir);
        try {
            NativeException e = assertThrows(NativeException.class, () -> Ptrace.interrupt(t.pid));
            assertEquals("ptrace(PTRACE_INTERRUPT, " + t.pid + "): EIO (Input/output error)", e.getMessage());
        } finally {
            t.close();
        }
    }

    @Test
    void xstateRoundTripKeepsTheLength() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
        try {
            ByteBuffer xs = Ptrace.getXstate(t.pid);
            int len = xs.remaining();
            assertThat(len, greaterThan(512)); // legacy FXSAVE area + XSAVE header at least
            assertThat(len, lessThan(Ptrace.XSTATE_BUFFER_SIZE));
            Ptrace.setXstate(t.pid, xs);
            ByteBuffer again = Ptrace.getXstate(t.pid);
            assertEquals(len, again.remaining());
            assertEquals(xs, again);
            // A shorter blob is refused by the kernel, not truncated silently.
            ByteBuffer shorter = xs.duplicate();
            shorter.limit(len - 64);
            assertThrows(NativeException.class, () -> Ptrace.setXstate(t.pid, shorter));
        } finally {
            t.close();
        }
    }

    @Test
    void sigmaskRoundTrip() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
        try {
            assertEquals(0, Ptrace.getSigmask(t.pid));
            long mask = Ptrace.sigmaskBit(SystemInfo.SIGUSR1) | Ptrace.sigmaskBit(SystemInfo.SIGUSR2)
                    | Ptrace.sigmaskBit(SystemInfo.NSIG - 1);
            Ptrace.setSigmask(t.pid, mask);
            assertEquals(mask, Ptrace.getSigmask(t.pid));
            assertEquals(String.format("%016x", mask), t.status("SigBlk"));
            // SIGKILL and SIGSTOP cannot be blocked: the kernel drops their bits.
            Ptrace.setSigmask(t.pid, mask | Ptrace.sigmaskBit(SystemInfo.SIGKILL) | Ptrace.sigmaskBit(SystemInfo.SIGSTOP));
            assertEquals(mask, Ptrace.getSigmask(t.pid));
            Ptrace.setSigmask(t.pid, 0);
            assertEquals(0, Ptrace.getSigmask(t.pid));
        } finally {
            t.close();
        }
    }

    @Test
    void rseqConfigurationOfAGlibcProgram() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir);
        try {
            assertFalse(Ptrace.getRseqConfiguration(t.pid).registered(), "nothing registered before ld.so ran");
            t.runUntilReady();
            Ptrace.RseqConfiguration rseq = Ptrace.getRseqConfiguration(t.pid);
            assertTrue(rseq.registered(), rseq.toString());
            assertEquals(32, rseq.abiSize(), rseq.toString()); // KERNEL-FACTS §2
            assertEquals(0x53053053, rseq.signature(), rseq.toString());
            assertEquals(0, rseq.flags());
            long p = rseq.abiPointer();
            assertTrue(t.maps().stream().anyMatch(l -> {
                String[] f = l.split("\\s+");
                String[] r = f[0].split("-");
                return Long.parseUnsignedLong(r[0], 16) <= p && p < Long.parseUnsignedLong(r[1], 16)
                        && f[1].startsWith("rw");
            }), "rseq area not in a writable mapping: " + rseq);
        } finally {
            t.close();
        }
    }

    @Test
    void exitEventCarriesTheExitStatus() throws Exception {
        int pid = Ptrace.spawnTraced("/bin/sh", new String[] { "sh", "-c", "exit 3" }, new String[0],
                Ptrace.DEFAULT_OPTIONS | Ptrace.O_TRACEEXIT);
        try {
            Ptrace.cont(pid, 0);
            WaitStatus s = Ptrace.waitpid(pid);
            assertTrue(s.isEvent(Ptrace.EVENT_EXIT), s.toString());
            WaitStatus exit = WaitStatus.of(pid, (int) Ptrace.getEventMessage(pid));
            assertTrue(exit.exited());
            assertEquals(3, exit.exitCode());
            Ptrace.cont(pid, 0);
            WaitStatus end = Ptrace.waitpid(pid);
            assertTrue(end.exited());
            assertEquals(3, end.exitCode());
        } finally {
            Ptrace.killAndReap(pid);
        }
    }

    @Test
    void syscallStopsAreToldApart() throws Exception {
        int pid = Ptrace.spawnTraced("/bin/true", new String[] { "true" }, new String[0], Ptrace.DEFAULT_OPTIONS);
        try {
            Ptrace.syscall(pid, 0);
            WaitStatus entry = Ptrace.waitpid(pid);
            assertTrue(entry.isSyscallStop(), entry.toString());
            long nr = Ptrace.getRegisters(pid).origRax();
            assertTrue(nr >= 0);
            Ptrace.syscall(pid, 0);
            WaitStatus exit = Ptrace.waitpid(pid);
            assertTrue(exit.isSyscallStop(), exit.toString());
            assertEquals(nr, Ptrace.getRegisters(pid).origRax());
            Ptrace.detach(pid, 0);
            WaitStatus end = Ptrace.waitpid(pid); // still our child after the detach
            assertTrue(end.exited());
            assertEquals(0, end.exitCode());
        } finally {
            Ptrace.killAndReap(pid);
        }
    }

    @Test
    void peekAndPokeAWordEvenInReadOnlyMemory() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
        try {
            long word = Ptrace.peekData(t.pid, t.marker);
            ByteBuffer expected = ByteBuffer.allocate(8).order(java.nio.ByteOrder.nativeOrder());
            expected.put(PtraceTarget.MARKER.substring(0, 8).getBytes(StandardCharsets.US_ASCII)).flip();
            assertEquals(expected.getLong(0), word);
            Ptrace.pokeData(t.pid, t.marker, 0x0102030405060708L);
            assertEquals(0x0102030405060708L, Ptrace.peekData(t.pid, t.marker));
            Ptrace.pokeData(t.pid, t.rodata, -1L);
            assertEquals(-1L, Ptrace.peekData(t.pid, t.rodata));
            NativeException e = assertThrows(NativeException.class, () -> Ptrace.peekData(t.pid, 8));
            assertEquals(Errno.EIO, e.errno());
        } finally {
            t.close();
        }
    }

    @Test
    void aReapedTraceeIsEsrchNamingTheRequest() throws Exception {
        int pid = Ptrace.spawnTraced("/bin/true", new String[] { "true" }, new String[0], Ptrace.DEFAULT_OPTIONS);
        assertTrue(Ptrace.killAndReap(pid).orElseThrow().signaled());
        NativeException e = assertThrows(NativeException.class, () -> Ptrace.getRegisters(pid));
        assertEquals("ptrace(PTRACE_GETREGSET, " + pid + "): ESRCH (No such process)", e.getMessage());
        assertEquals(Errno.ESRCH, assertThrows(NativeException.class, () -> Ptrace.syscall(pid, 0)).errno());
        assertEquals(Errno.ESRCH, assertThrows(NativeException.class,
                () -> new SyscallInjector(pid, 4096).inject(Syscalls.GETPID)).errno());
    }
}
