package io.lazymig.jni;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one syscall inside a stopped tracee (KERNEL-FACTS §3.1): {@code rip} at a {@code 0f 05}
 * ({@code syscall}) byte pair of an executable mapping, {@code rax} = number, arguments in
 * {@code rdi rsi rdx r10 r8 r9}, {@code orig_rax = -1} (so no syscall-restart logic applies to the
 * stop it leaves); then PTRACE_SYSCALL to the entry stop (checked: {@code orig_rax} = number) and
 * PTRACE_SYSCALL to the exit stop, where {@code rax} is the result. No user code runs, so the
 * syscall may even unmap the page holding its own instruction.
 *
 * <p>Mechanism only: nothing is saved or restored. The caller saves the registers before its
 * first injection and sets them back when done; after {@link #inject} the tracee sits in the
 * syscall-exit stop with {@code rip} just after the instruction. Must be used from the tracer
 * thread (see {@link Ptrace}); the tracee must be in a ptrace-stop and O_TRACESYSGOOD set.
 */
public final class SyscallInjector {
    private static final int MAX_ARGS = 6;

    private final int pid;
    private final Registers regs = Registers.allocate();
    private long syscallAddress;

    /** An injector for {@code pid} using the {@code 0f 05} at {@code syscallAddress}. */
    public SyscallInjector(int pid, long syscallAddress) {
        if (pid <= 0) {
            throw new IllegalArgumentException("not a process id: " + pid);
        }
        this.pid = pid;
        useSyscallAt(syscallAddress);
    }

    public int pid() {
        return pid;
    }

    public long syscallAddress() {
        return syscallAddress;
    }

    /** Switches to another {@code 0f 05}, e.g. once the one in use is about to be unmapped. */
    public void useSyscallAt(long address) {
        if (address == 0) {
            throw new IllegalArgumentException("syscall instruction address 0");
        }
        this.syscallAddress = address;
    }

    /**
     * Injects syscall {@code nr} with up to six arguments (missing ones are 0).
     *
     * @return the raw result: a value, or -errno in [-{@link Syscalls#MAX_ERRNO}, -1] (see
     *         {@link Syscalls#isError(long)}); errors of the injected syscall are values, not exceptions
     * @throws UnexpectedStopException when the tracee stops otherwise (a signal, an exit, a
     *         group-stop) or enters another syscall; the tracee is left in that stop
     * @throws NativeException when a ptrace request fails (e.g. ESRCH: not stopped or not ours)
     */
    public long inject(int nr, long... args) throws NativeException, Ptrace.UnexpectedStopException {
        return run(nr, false, args);
    }

    /**
     * Injects a syscall that creates a thread ({@code clone3} with CLONE_THREAD) while the tracee
     * has PTRACE_O_TRACECLONE, or a process ({@code clone3} with exit signal SIGCHLD, a fork) while
     * it has PTRACE_O_TRACEFORK: between the entry and the exit stop it reports one
     * PTRACE_EVENT_CLONE or PTRACE_EVENT_FORK stop (KERNEL-FACTS §9), which is passed over. The new
     * task starts traced and reports its own first stop to {@link Ptrace#waitpid}.
     *
     * @return the raw result: the new thread's id, or -errno (no event stop then)
     */
    public long injectClone(int nr, long... args) throws NativeException, Ptrace.UnexpectedStopException {
        return run(nr, true, args);
    }

    private long run(int nr, boolean cloneEvent, long[] args) throws NativeException, Ptrace.UnexpectedStopException {
        if (nr < 0) {
            throw new IllegalArgumentException("negative syscall number " + nr);
        }
        if (args.length > MAX_ARGS) {
            throw new IllegalArgumentException("a syscall takes at most 6 arguments, got " + args.length);
        }
        Ptrace.getRegisters(pid, regs);
        regs.setRip(syscallAddress).setRax(nr).setOrigRax(-1)
                .setRdi(arg(args, 0)).setRsi(arg(args, 1)).setRdx(arg(args, 2))
                .setR10(arg(args, 3)).setR8(arg(args, 4)).setR9(arg(args, 5));
        Ptrace.setRegisters(pid, regs);

        String what = "syscall " + nr + " at 0x" + Long.toHexString(syscallAddress);
        Ptrace.syscall(pid, 0);
        WaitStatus entry = Ptrace.waitpid(pid);
        if (!entry.isSyscallStop()) {
            throw new Ptrace.UnexpectedStopException("the syscall-entry stop of " + what, entry);
        }
        Ptrace.getRegisters(pid, regs);
        if (regs.origRax() != nr) {
            throw new Ptrace.UnexpectedStopException("the syscall-entry stop of " + what + " (entered syscall "
                    + regs.origRax() + " at rip 0x" + Long.toHexString(regs.rip()) + ")", entry);
        }
        Ptrace.syscall(pid, 0);
        WaitStatus exit = Ptrace.waitpid(pid);
        if (cloneEvent && (exit.isEvent(Ptrace.EVENT_CLONE) || exit.isEvent(Ptrace.EVENT_FORK))) {
            Ptrace.syscall(pid, 0);
            exit = Ptrace.waitpid(pid);
        }
        if (!exit.isSyscallStop()) {
            throw new Ptrace.UnexpectedStopException("the syscall-exit stop of " + what, exit);
        }
        Ptrace.getRegisters(pid, regs);
        return regs.rax();
    }

    private static long arg(long[] args, int i) {
        return i < args.length ? args[i] : 0;
    }

    /**
     * An address of the bytes {@code 0f 05} in an executable mapping of {@code pid}, read through
     * /proc/PID/mem: the {@code [vdso]} first (it survives a restore), then the other executable
     * mappings in address order. {@code [vsyscall]} is skipped: executing in it is emulated
     * only at its fixed entry points.
     *
     * @throws IOException when no mapping holds the pair, or /proc cannot be read
     */
    public static long findSyscallInstruction(int pid) throws IOException {
        List<long[]> ranges = new ArrayList<>();
        List<long[]> vdso = new ArrayList<>();
        for (String line : readMaps(pid)) {
            String[] f = line.trim().split("\\s+", 6);
            if (f.length < 5 || f[1].length() < 3 || f[1].charAt(2) != 'x') {
                continue;
            }
            String name = f.length == 6 ? f[5] : "";
            if (name.equals("[vsyscall]")) {
                continue;
            }
            int dash = f[0].indexOf('-');
            long[] range = { Long.parseUnsignedLong(f[0].substring(0, dash), 16),
                Long.parseUnsignedLong(f[0].substring(dash + 1), 16) };
            (name.equals("[vdso]") ? vdso : ranges).add(range);
        }
        vdso.addAll(ranges);
        try (FileDescriptor mem = ProcessMemory.openMem(pid, false)) {
            for (long[] r : vdso) {
                long at = scan(mem, r[0], r[1]);
                if (at != 0) {
                    return at;
                }
            }
        }
        throw new IOException("no syscall instruction (0f 05) in the executable mappings of pid " + pid);
    }

    /**
     * An address of {@code 0f 05} in [{@code start}, {@code end}) of {@code pid} (e.g. a moved
     * vdso), read through /proc/PID/mem.
     *
     * @throws IOException when the range holds none or cannot be read
     */
    public static long findSyscallInstruction(int pid, long start, long end) throws IOException {
        if (Long.compareUnsigned(start, end) >= 0) {
            throw new IllegalArgumentException("empty range 0x" + Long.toHexString(start) + "-0x" + Long.toHexString(end));
        }
        try (FileDescriptor mem = ProcessMemory.openMem(pid, false)) {
            long at = scan(mem, start, end);
            if (at == 0) {
                throw new IOException("no syscall instruction (0f 05) in 0x" + Long.toHexString(start) + "-0x"
                        + Long.toHexString(end) + " of pid " + pid);
            }
            return at;
        }
    }

    private static List<String> readMaps(int pid) throws IOException {
        try {
            return Files.readAllLines(Path.of("/proc", Integer.toString(pid), "maps"));
        } catch (NoSuchFileException e) {
            throw new NativeException("open(/proc/" + pid + "/maps)", Errno.ENOENT);
        }
    }

    private static final int CHUNK = 64 * 1024;

    /** The first {@code 0f 05} in [start, end), or 0; an unreadable range counts as none. */
    private static long scan(FileDescriptor mem, long start, long end) throws NativeException {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        byte previous = 0;
        for (long at = start; Long.compareUnsigned(at, end) < 0; at += CHUNK) {
            int len = (int) Math.min(CHUNK, end - at);
            ProcessMemory.Transfer t = ProcessMemory.preadMem(mem, at, Buffers.address(buf), len);
            for (int i = 0; i < t.transferred(); i++) {
                byte b = buf.get(i);
                if (previous == 0x0f && b == 0x05) {
                    return at + i - 1;
                }
                previous = b;
            }
            if (!t.complete()) {
                return 0;
            }
        }
        return 0;
    }
}
