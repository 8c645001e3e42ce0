package io.lazymig.restore;

import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Registers;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.WaitStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Syscalls the process being restored runs itself, one after another, in one stop: a loop of a
 * few instructions in the scratch area (mapped executable) reads each call's number and arguments
 * from a record, runs it, stores the result, stops at the first error, and ends on a SIGSTOP
 * the thread sends itself. For calls that do not depend on each other's results (the anonymous
 * mappings of a process, the clone3 of each of its threads, each thread's own state): each
 * injected one costs two trips through the scheduler and ~10 ptrace requests (50-300 µs on a busy
 * host); here the whole run costs one.
 *
 * <p>The calls run as the process's own code, so they must not need restore's eye between them
 * (no syscall whose result an argument of a later one needs). The thread is left in the
 * signal-delivery stop of that SIGSTOP, which the next injection resumes with no signal (so it is
 * never delivered); its orig_rax is -1 so no syscall restart applies. Not an int3: the kernel forces
 * its SIGTRAP, which resets a SIGTRAP handler to SIG_DFL when the signal is ignored or blocked
 * (force_sig_info_to_task), and the process's own actions are restored by then; SIGSTOP cannot be
 * caught, blocked or ignored, so nothing of the process changes.
 */
final class SyscallRun {
    /** One record: the number and six arguments, then the result (u64 each). */
    static final int RECORD = 64;
    private static final int RESULT = 56;
    /** The code's room at the start of the run's scratch. */
    static final int CODE_SPACE = 128;
    /** A result slot's value until its call ran (no syscall returns it). */
    static final long NOT_RUN = Long.MIN_VALUE;

    /**
     * The loop, r12 = the first record, r13 = the number of records, r14 = the process's pid, r15
     * = the thread's tid:
     * <pre>
     * loop: test r13,r13; jz done
     *       mov rax,[r12]; mov rdi,[r12+8]; mov rsi,[r12+16]; mov rdx,[r12+24]
     *       mov r10,[r12+32]; mov r8,[r12+40]; mov r9,[r12+48]; syscall
     *       mov [r12+56],rax; cmp rax,-4095; jae done     (stop at the first -errno)
     *       add r12,64; dec r13; jmp loop
     * done: mov eax,SYS_tgkill; mov rdi,r14; mov rsi,r15; mov edx,SIGSTOP; syscall
     *       jmp $                                         (never reached: the stop comes first)
     * </pre>
     */
    private static final byte[] LOOP = {
        0x4d, (byte) 0x85, (byte) 0xed,                 // test r13, r13
        0x74, 0x3a,                                     // jz done
        0x49, (byte) 0x8b, 0x04, 0x24,                  // mov rax, [r12]
        0x49, (byte) 0x8b, 0x7c, 0x24, 0x08,            // mov rdi, [r12+8]
        0x49, (byte) 0x8b, 0x74, 0x24, 0x10,            // mov rsi, [r12+16]
        0x49, (byte) 0x8b, 0x54, 0x24, 0x18,            // mov rdx, [r12+24]
        0x4d, (byte) 0x8b, 0x54, 0x24, 0x20,            // mov r10, [r12+32]
        0x4d, (byte) 0x8b, 0x44, 0x24, 0x28,            // mov r8, [r12+40]
        0x4d, (byte) 0x8b, 0x4c, 0x24, 0x30,            // mov r9, [r12+48]
        0x0f, 0x05,                                     // syscall
        0x49, (byte) 0x89, 0x44, 0x24, RESULT,          // mov [r12+56], rax
        0x48, 0x3d, 0x01, (byte) 0xf0, (byte) 0xff, (byte) 0xff, // cmp rax, -4095
        0x73, 0x09,                                     // jae done
        0x49, (byte) 0x83, (byte) 0xc4, RECORD,         // add r12, 64
        0x49, (byte) 0xff, (byte) 0xcd,                 // dec r13
        (byte) 0xeb, (byte) 0xc1,                       // jmp loop
        (byte) 0xb8, 0, 0, 0, 0,                        // done: mov eax, SYS_tgkill (patched)
        0x4c, (byte) 0x89, (byte) 0xf7,                 // mov rdi, r14
        0x4c, (byte) 0x89, (byte) 0xfe,                 // mov rsi, r15
        (byte) 0xba, 0, 0, 0, 0,                        // mov edx, SIGSTOP (patched)
        0x0f, 0x05,                                     // syscall
        (byte) 0xeb, (byte) 0xfe,                       // jmp $
    };
    /** Where the loop ends ("done"), and where the tgkill's number and signal are patched in. */
    static final int DONE = 63;
    private static final int DONE_NR = DONE + 1;
    private static final int DONE_SIGNAL = DONE + 12;

    /** One call: its syscall number and up to six arguments (missing ones 0). */
    record Call(int nr, long... args) {
        Call {
            if (args.length > 6) {
                throw new IllegalArgumentException("a syscall takes at most 6 arguments, got " + args.length);
            }
            args = args.clone();
        }
    }

    private SyscallRun() {
    }

    /** The loop's code, padded to {@link #CODE_SPACE}. */
    static ByteBuffer code() {
        return Stub.struct(CODE_SPACE).put(LOOP).putInt(DONE_NR, Syscalls.TGKILL).putInt(DONE_SIGNAL, SystemInfo.SIGSTOP)
                .clear();
    }

    /** How many calls fit one run in the scratch area after {@code reserved} bytes of the caller's. */
    static int capacity(long reserved) {
        return (int) ((Stub.SCRATCH_SIZE - reserved - CODE_SPACE) / RECORD);
    }

    /**
     * Runs {@code calls} in the process of {@code stub} (its leader, in a ptrace-stop), from the
     * scratch area's cursor on: what the caller put there before stays. Returns each call's raw
     * result (a value, or -errno), {@link #NOT_RUN} for those after the first that failed.
     */
    static long[] run(Stub stub, List<Call> calls) throws IOException {
        return runThreads(List.of(new Part(stub, List.of(stub.pid()), List.of(calls))))[0][0];
    }

    /**
     * Runs {@code calls.get(i)} in the process of {@code stubs.get(i)} (its leader, in a ptrace-stop),
     * every process at once, as {@link #run} does in one: each run in its own scratch area, from its
     * cursor on. A tree's processes then cost one round of stops for a step, not one each after
     * another, all from this (the tracer) thread. Every process is waited for before anything is
     * thrown; {@link #NOT_RUN} as in {@link #run}.
     */
    static long[][] runAcross(List<Stub> stubs, List<List<Call>> calls) throws IOException {
        long[][] results = new long[stubs.size()][];
        long[] firsts = new long[stubs.size()];
        for (int p = 0; p < stubs.size(); p++) {
            results[p] = new long[calls.get(p).size()];
            if (!calls.get(p).isEmpty()) {
                firsts[p] = write(stubs.get(p), calls.get(p));
            }
        }
        Registers regs = Registers.allocate();
        List<Integer> started = new ArrayList<>();
        IOException failure = null;
        try {
            for (int p = 0; p < stubs.size(); p++) {
                if (!calls.get(p).isEmpty()) {
                    Stub stub = stubs.get(p);
                    start(regs, stub, stub.pid(), firsts[p] - CODE_SPACE, firsts[p], calls.get(p).size());
                    started.add(stub.pid());
                }
            }
        } catch (IOException e) {
            failure = e;
        }
        failure = awaitAll(started, failure);
        if (failure != null) {
            throw failure;
        }
        for (int p = 0; p < stubs.size(); p++) {
            int n = calls.get(p).size();
            if (n > 0) {
                ByteBuffer back = Stub.struct(n * RECORD);
                stubs.get(p).read(firsts[p], back);
                for (int i = 0; i < n; i++) {
                    results[p][i] = back.getLong(i * RECORD + RESULT);
                }
                stubs.get(p).counted(n);
            }
        }
        return results;
    }

    /** One process's part of {@link #runThreads}: threads of the process of {@code stub}, each with its calls. */
    record Part(Stub stub, List<Integer> tids, List<List<Call>> calls) {
    }

    /**
     * Runs, for each part, {@code calls.get(i)} in its thread {@code tids.get(i)}: every thread of
     * every process at once, each in a ptrace-stop, for what a thread can only do for itself (a tree's
     * processes then cost one round of stops for a per-thread step, not one round each), each process's loop and records
     * in its own scratch area from its cursor on. Returns, per part, each thread's raw results;
     * every thread is waited for before anything is thrown; {@link #NOT_RUN} as in {@link #run}.
     */
    static long[][][] runThreads(List<Part> parts) throws IOException {
        int n = parts.size();
        long[] firsts = new long[n];
        int[] totals = new int[n];
        for (int p = 0; p < n; p++) {
            List<Call> all = new ArrayList<>();
            for (List<Call> c : parts.get(p).calls()) {
                all.addAll(c);
            }
            totals[p] = all.size();
            if (!all.isEmpty()) {
                firsts[p] = write(parts.get(p).stub(), all);
            }
        }
        Registers regs = Registers.allocate();
        List<Integer> started = new ArrayList<>();
        IOException failure = null;
        try {
            for (int p = 0; p < n; p++) {
                Part part = parts.get(p);
                int k = 0;
                for (int t = 0; t < part.tids().size(); t++) {
                    int c = part.calls().get(t).size();
                    if (c > 0) {
                        start(regs, part.stub(), part.tids().get(t), firsts[p] - CODE_SPACE, firsts[p] + (long) k * RECORD, c);
                        started.add(part.tids().get(t));
                    }
                    k += c;
                }
            }
        } catch (IOException e) {
            failure = e;
        }
        failure = awaitAll(started, failure);
        if (failure != null) {
            throw failure;
        }
        long[][][] results = new long[n][][];
        for (int p = 0; p < n; p++) {
            Part part = parts.get(p);
            ByteBuffer back = null;
            if (totals[p] > 0) {
                back = Stub.struct(totals[p] * RECORD);
                part.stub().read(firsts[p], back);
                part.stub().counted(totals[p]);
            }
            results[p] = new long[part.tids().size()][];
            int k = 0;
            for (int t = 0; t < part.tids().size(); t++) {
                int c = part.calls().get(t).size();
                results[p][t] = new long[c];
                for (int i = 0; i < c; i++) {
                    results[p][t][i] = back.getLong(k++ * RECORD + RESULT);
                }
            }
        }
        return results;
    }

    /** Puts the loop and the records of {@code calls} into the scratch of {@code stub}; returns the first record's address. */
    private static long write(Stub stub, List<Call> calls) throws IOException {
        long code = stub.put(code());
        ByteBuffer records = Stub.struct(calls.size() * RECORD);
        fill(records, 0, calls);
        long first = stub.put(records);
        if (first != code + CODE_SPACE) {
            throw new IllegalStateException("the records do not follow the code");
        }
        return first;
    }

    /** Writes {@code calls} as records from record {@code from} of {@code records}, their results not run yet. */
    private static void fill(ByteBuffer records, int from, List<Call> calls) {
        for (int k = 0; k < calls.size(); k++) {
            Call c = calls.get(k);
            int at = (from + k) * RECORD;
            records.putLong(at, c.nr());
            for (int a = 0; a < 6; a++) {
                records.putLong(at + 8 + 8 * a, a < c.args().length ? c.args()[a] : 0);
            }
            records.putLong(at + RESULT, NOT_RUN);
        }
    }

    /** Points thread {@code tid} of {@code stub}'s process at the loop over {@code n} records from {@code first}, and resumes it. */
    private static void start(Registers regs, Stub stub, int tid, long code, long first, int n) throws IOException {
        Ptrace.getRegisters(tid, regs);
        regs.setRip(code).setOrigRax(-1).setR12(first).setR13(n).setR14(stub.pid()).setR15(tid);
        Ptrace.setRegisters(tid, regs);
        Ptrace.cont(tid, 0);
    }

    /** Waits for every started thread's SIGSTOP; returns {@code failure}, or the first unexpected stop. */
    private static IOException awaitAll(List<Integer> started, IOException failure) {
        IOException out = failure;
        for (int tid : started) { // every thread resumed stops again before anything else is done
            try {
                WaitStatus st = Ptrace.waitpid(tid);
                if ((!st.stopped() || st.stopSignal() != SystemInfo.SIGSTOP) && out == null) {
                    out = new Ptrace.UnexpectedStopException("the end of a run of syscalls in thread " + tid, st);
                }
            } catch (IOException e) {
                if (out == null) {
                    out = e;
                }
            }
        }
        return out;
    }

    /** Whether {@code rc}, a result of {@link #run}, is an error (not {@link #NOT_RUN}). */
    static boolean failed(long rc) {
        return rc != NOT_RUN && Syscalls.isError(rc);
    }
}
