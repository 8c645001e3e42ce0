package io.lazymig.jni;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Several syscalls run by a stopped tracee in one resume: a few instructions of x86-64 (written
 * by the caller into an executable page of the tracee) walk a table of syscalls, run each and
 * store its result, and end on an {@code int3}. {@link SyscallBatch} costs two ptrace-stops per
 * syscall (entry and exit) and eight ptrace requests; this costs one stop per tracee for the
 * whole table (a dump asks each of 100 threads three questions: 600 stops become 100).
 *
 * <p>The {@code int3} raises a SIGTRAP that the tracer sees as a signal-delivery-stop and drops
 * (the next resume passes signal 0). The kernel forces it: were SIGTRAP blocked or ignored in the
 * tracee, the kernel would reset its handler to the default (a lasting change to the process), and
 * were a SIGTRAP already pending, resuming would deliver that one first. So the caller runs a
 * program only in a tracee whose mask lets SIGTRAP through (see {@link #MASK}), with no SIGTRAP
 * pending nor ignored; elsewhere it injects syscall by syscall.
 *
 * <p>Mechanism only, like {@link SyscallBatch}: registers are not saved or restored (each tracee is
 * left stopped with {@code rip} after the {@code int3} and rax, rbx, rcx, rdi, rsi, rdx, r8-r11
 * changed). From the tracer thread; every tracee in a ptrace-stop.
 */
public final class SyscallProgram {
    /** Bytes of one table entry: the syscall number, six arguments, the result (8 bytes each). */
    public static final int ENTRY_BYTES = 64;
    /** The number that ends a table. */
    private static final long END = -1;
    /** The signal mask a tracee runs a program with: every signal blocked but SIGTRAP. */
    public static final long MASK = ~Ptrace.sigmaskBit(SystemInfo.SIGTRAP);

    /**
     * The loop, with rbx at the table: {@code mov rax,[rbx]; cmp rax,-1; je end; mov rdi..r9,
     * [rbx+8..48]; syscall; mov [rbx+56],rax; add rbx,64; jmp loop; end: int3}.
     */
    private static final byte[] CODE = {
        0x48, (byte) 0x8b, 0x03,                   // 0:  mov rax, [rbx]
        0x48, (byte) 0x83, (byte) 0xf8, (byte) 0xff, // 3:  cmp rax, -1
        0x74, 0x24,                                // 7:  je +36 (to 45: int3)
        0x48, (byte) 0x8b, 0x7b, 0x08,             // 9:  mov rdi, [rbx+8]
        0x48, (byte) 0x8b, 0x73, 0x10,             // 13: mov rsi, [rbx+16]
        0x48, (byte) 0x8b, 0x53, 0x18,             // 17: mov rdx, [rbx+24]
        0x4c, (byte) 0x8b, 0x53, 0x20,             // 21: mov r10, [rbx+32]
        0x4c, (byte) 0x8b, 0x43, 0x28,             // 25: mov r8, [rbx+40]
        0x4c, (byte) 0x8b, 0x4b, 0x30,             // 29: mov r9, [rbx+48]
        0x0f, 0x05,                                // 33: syscall
        0x48, (byte) 0x89, 0x43, 0x38,             // 35: mov [rbx+56], rax
        0x48, (byte) 0x83, (byte) 0xc3, 0x40,      // 39: add rbx, 64
        (byte) 0xeb, (byte) 0xd3,                  // 43: jmp -45 (to 0)
        (byte) 0xcc,                               // 45: int3
    };

    /** One tracee's run: its tid, where the code is, and its table (in the tracee's memory). */
    public record Run(int tid, long code, long table) {
        public Run {
            if (tid <= 0) {
                throw new IllegalArgumentException("not a thread id: " + tid);
            }
            if (code == 0 || table == 0) {
                throw new IllegalArgumentException("code or table at address 0");
            }
        }
    }

    private SyscallProgram() {
    }

    /** The code to write into an executable page of the tracee. */
    public static ByteBuffer code() {
        return ByteBuffer.wrap(CODE.clone());
    }

    /** Bytes of the code. */
    public static int codeBytes() {
        return CODE.length;
    }

    /** Bytes of a table of {@code syscalls} entries and its end. */
    public static int tableBytes(int syscalls) {
        return (syscalls + 1) * ENTRY_BYTES;
    }

    /** Appends one syscall to a table being built in {@code table} (native order), at its position. */
    public static void add(ByteBuffer table, int nr, long... args) {
        if (nr < 0) {
            throw new IllegalArgumentException("negative syscall number " + nr);
        }
        if (args.length > 6) {
            throw new IllegalArgumentException("a syscall takes at most 6 arguments, got " + args.length);
        }
        table.order(ByteOrder.nativeOrder()).putLong(nr);
        for (int i = 0; i < 6; i++) {
            table.putLong(i < args.length ? args[i] : 0);
        }
        table.putLong(0);
    }

    /** Ends a table being built in {@code table}. */
    public static void end(ByteBuffer table) {
        table.order(ByteOrder.nativeOrder()).putLong(END);
        for (int i = 0; i < 7; i++) {
            table.putLong(0);
        }
    }

    /** The result of entry {@code i} of a table read back into {@code table} (from its start). */
    public static long result(ByteBuffer table, int i) {
        return table.order(ByteOrder.nativeOrder()).getLong(i * ENTRY_BYTES + 56);
    }

    /**
     * Runs each tracee's program: every tracee is set up and resumed before the first is waited
     * for, so their runs overlap. Each ends in a SIGTRAP signal-delivery-stop just after the
     * {@code int3}, or the run fails.
     *
     * @throws Ptrace.UnexpectedStopException when a tracee stops otherwise (the others are still
     *         waited for first, so none is left running)
     * @throws NativeException when a ptrace request fails; the tracees already resumed are waited for
     */
    public static void run(List<Run> runs) throws NativeException, Ptrace.UnexpectedStopException {
        Registers regs = Registers.allocate();
        List<Run> running = new ArrayList<>(runs.size());
        try {
            for (Run r : runs) {
                Ptrace.getRegisters(r.tid(), regs);
                // orig_rax -1: a tracee stopped inside a syscall is not restarted on the way out
                regs.setRip(r.code()).setRbx(r.table()).setOrigRax(-1);
                Ptrace.setRegisters(r.tid(), regs);
                Ptrace.cont(r.tid(), 0);
                running.add(r);
            }
        } finally {
            if (running.size() < runs.size()) {
                TraceeBatches.settle(running.stream().map(Run::tid).toList());
            }
        }
        Ptrace.UnexpectedStopException unexpected = null;
        for (Run r : runs) {
            WaitStatus st = Ptrace.waitpid(r.tid());
            if (!st.isSignalStop() || st.stopSignal() != SystemInfo.SIGTRAP) {
                unexpected = TraceeBatches.first(unexpected, new Ptrace.UnexpectedStopException(
                        "the int3 at the end of a syscall program in thread " + r.tid(), st));
                continue;
            }
            Ptrace.getRegisters(r.tid(), regs);
            if (regs.rip() != r.code() + CODE.length) {
                unexpected = TraceeBatches.first(unexpected, new Ptrace.UnexpectedStopException("the int3 at the end of a syscall "
                        + "program in thread " + r.tid() + " (a SIGTRAP at 0x" + Long.toHexString(regs.rip()) + ")", st));
            }
        }
        if (unexpected != null) {
            throw unexpected;
        }
    }


}
