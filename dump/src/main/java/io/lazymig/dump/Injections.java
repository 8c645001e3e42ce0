package io.lazymig.dump;

import io.lazymig.images.IntervalTimer;
import io.lazymig.images.SigAction;
import io.lazymig.images.SigAltStack;
import io.lazymig.images.SigInfo;
import io.lazymig.images.ThreadState;
import io.lazymig.jni.Errno;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.SyscallBatch;
import io.lazymig.jni.SyscallInjector;
import io.lazymig.jni.SyscallProgram;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.Sockets;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What only the task itself can tell, asked by syscalls injected into it while frozen: brk(0),
 * each signal's action by rt_sigaction(sig, NULL, &old), each thread's clear_child_tid and
 * alternate signal stack, and the timers (getitimer, timer_gettime, timer_getoverrun). A scratch
 * area mapped for the answers (and, executable, for the syscall programs that ask most of them in
 * one ptrace-stop: {@link SyscallProgram}) is unmapped again before the VMAs are read, so the dump
 * sees the layout as it was. None of these syscalls takes or queues a signal (every frozen thread
 * blocks them all; a program's int3 raises a SIGTRAP the tracer drops), so the pending queues stay
 * as they were.
 */
final class Injections implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");
    /** struct kernel_sigaction on x86_64: handler, flags, restorer, mask (8 bytes each). */
    private static final int KERNEL_SIGACTION_SIZE = 32;
    /** SIGCHLD on x86-64 (the only architecture lazymig runs on). */
    private static final int SIGCHLD = 17;

    private final SyscallInjector injector;
    private final long scratch;
    /**
     * Bytes mapped at {@link #scratch}: its first page for the answers of single injections; when
     * {@link #executable}, after it the room for a syscall program per thread ({@link #askThreadsAll}).
     */
    private final long scratchBytes;
    /** The scratch is mapped executable too: its threads' questions run as syscall programs. */
    private final boolean executable;
    /** Later questions of the leader (a socket's options) run as programs too: set once {@link #programmable} said so. */
    private boolean programs;
    /** Set once the scratch page is unmapped: {@link #close} is idempotent (a tree's failure closes what is left). */
    private boolean closed;
    private final long pageSize = SystemInfo.PAGE_SIZE;
    private final ByteBuffer answer = ByteBuffer.allocateDirect(KERNEL_SIGACTION_SIZE).order(ByteOrder.nativeOrder());

    private Injections(SyscallInjector injector, long scratch, long scratchBytes, boolean executable) {
        this.injector = injector;
        this.scratch = scratch;
        this.scratchBytes = scratchBytes;
        this.executable = executable;
    }

    static Injections open(int pid) throws IOException {
        SyscallInjector inj = new SyscallInjector(pid, SyscallInjector.findSyscallInstruction(pid));
        long scratch = inj.inject(Syscalls.MMAP, 0, SystemInfo.PAGE_SIZE, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0);
        if (Syscalls.isError(scratch)) {
            throw new DumpException("injected mmap of a scratch page failed: " + Errno.name(Syscalls.errno(scratch)));
        }
        return new Injections(inj, scratch, SystemInfo.PAGE_SIZE, false);
    }

    /**
     * As {@link #open}, for every process of {@code pids} at once: their scratch pages mapped by
     * one batch of injections (each process its own), so the round trips overlap. On failure the
     * pages mapped are unmapped again. {@code vdsos.get(i)}: process i's [vdso] as read at the freeze,
     * {start, end}, or null when it has none; searched first for the syscall instruction: without it
     * /proc/PID/maps is read and split again, ~1 ms inside the freeze for the 200 more mappings
     * (stacks and guards) of 100 threads. {@code threadCounts.get(i)}: process i's threads, for the
     * room of their syscall programs: the scratch is mapped writable and executable, and where the
     * process refuses that (a memory-deny-write-execute policy: EACCES or EPERM) writable only, its
     * threads then asked syscall by syscall.
     */
    static List<Injections> openAll(List<Integer> pids, List<long[]> vdsos, List<Integer> threadCounts)
            throws IOException {
        List<SyscallInjector> injectors = new ArrayList<>(pids.size());
        List<SyscallBatch.Call> calls = new ArrayList<>(pids.size());
        long[] sizes = new long[pids.size()];
        for (int i = 0; i < pids.size(); i++) {
            int pid = pids.get(i);
            long[] vdso = vdsos.get(i);
            SyscallInjector inj = new SyscallInjector(pid, syscallInstruction(pid, vdso));
            injectors.add(inj);
            sizes[i] = SystemInfo.PAGE_SIZE + programBytes(threadCounts.get(i));
            calls.add(new SyscallBatch.Call(pid, inj.syscallAddress(), 0, sizes[i],
                    Syscalls.PROT_READ | Syscalls.PROT_WRITE | Syscalls.PROT_EXEC, Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS,
                    -1, 0));
        }
        long[] scratches = SyscallBatch.inject(Syscalls.MMAP, calls);
        List<Integer> refused = new ArrayList<>();
        for (int i = 0; i < scratches.length; i++) {
            long e = Syscalls.isError(scratches[i]) ? Syscalls.errno(scratches[i]) : 0;
            if (e == Errno.EACCES || e == Errno.EPERM) {
                refused.add(i);
            }
        }
        if (!refused.isEmpty()) {
            List<SyscallBatch.Call> plain = new ArrayList<>(refused.size());
            for (int i : refused) {
                log.debug("dump: process {} refuses a writable and executable page: its threads asked syscall by syscall",
                        pids.get(i));
                sizes[i] = SystemInfo.PAGE_SIZE;
                plain.add(new SyscallBatch.Call(pids.get(i), injectors.get(i).syscallAddress(), 0, sizes[i],
                        Syscalls.PROT_READ | Syscalls.PROT_WRITE, Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0));
            }
            long[] again = SyscallBatch.inject(Syscalls.MMAP, plain);
            for (int k = 0; k < refused.size(); k++) {
                scratches[refused.get(k)] = again[k];
            }
        }
        List<Injections> out = new ArrayList<>(pids.size());
        String failed = null;
        for (int i = 0; i < scratches.length; i++) {
            if (Syscalls.isError(scratches[i])) {
                failed = failed != null ? failed : "injected mmap of a scratch page in process " + pids.get(i)
                        + " failed: " + Errno.name(Syscalls.errno(scratches[i]));
            } else {
                out.add(new Injections(injectors.get(i), scratches[i], sizes[i], !refused.contains(i)));
            }
        }
        if (failed != null) {
            closeAll(out);
            throw new DumpException(failed);
        }
        return out;
    }

    /** A syscall instruction of {@code pid}: in {@code vdso} when given and it holds one, else in any executable mapping. */
    private static long syscallInstruction(int pid, long[] vdso) throws IOException {
        if (vdso != null) {
            try {
                return SyscallInjector.findSyscallInstruction(pid, vdso[0], vdso[1]);
            } catch (IOException e) {
                log.debug("dump: no syscall instruction found in the [vdso] of process {} ({}): searching its maps",
                        pid, e.getMessage());
            }
        }
        return SyscallInjector.findSyscallInstruction(pid);
    }

    /** Closes every one of {@code all} still open, on a failure's way out (their own failures are left out). */
    static void closeAll(List<Injections> all) {
        for (Injections i : all) {
            try {
                i.close();
            } catch (IOException ignored) {
                // the dump fails anyway; the tree is resumed or killed by its tracer
            }
        }
    }

    /** The process injected into. */
    int pid() {
        return injector.pid();
    }

    /** The syscall instruction its injections use. */
    long syscallAddress() {
        return injector.syscallAddress();
    }

    /** Its scratch page, where the answers of a batch ({@link TreeInjections}) are written. */
    long scratch() {
        return scratch;
    }

    /** The program break, by brk(0) (it is not in /proc/PID/stat). */
    long brk() throws IOException {
        return check("brk(0)", injector.inject(Syscalls.BRK, 0));
    }

    /**
     * Bytes of the scratch page per thread asked by {@link #askThreads}: the clear_child_tid address
     * (8), a stack_t (24) and the parent-death signal (an int).
     */
    private static final int PER_THREAD = 36;
    /** The three questions of a thread as a syscall program: its table (three syscalls and the end). */
    private static final int PROGRAM_TABLE = SyscallProgram.tableBytes(3);
    /** A thread's room in the program area: its table, then its answers as {@link #PER_THREAD} lays them out. */
    private static final int PROGRAM_PER_THREAD = PROGRAM_TABLE + 64;
    /** The three questions of a thread's program, in its table's order, for messages. */
    private static final String[] THREAD_QUESTIONS = {"prctl(PR_GET_TID_ADDRESS)", "sigaltstack(NULL, &old)",
        "prctl(PR_GET_PDEATHSIG)"};
    /** Where the threads' rooms begin in the program area: after the code. */
    private static final int PROGRAM_CODE = 64;

    /**
     * The process's own questions as one program of its leader (run before the threads' programs,
     * in the same area): brk(0), rt_sigaction of each signal asked, getitimer of the three timers;
     * the table, then a kernel_sigaction (32 bytes) per signal, then the three itimervals.
     */
    private static final int LEADER_QUESTIONS = 1 + SigAction.SIGMAX + 3;
    private static final int LEADER_BYTES = PROGRAM_CODE + SyscallProgram.tableBytes(LEADER_QUESTIONS)
            + (SigAction.SIGMAX + 3) * KERNEL_SIGACTION_SIZE;

    /** Bytes of the program area for {@code threads} threads, whole pages. */
    static long programBytes(int threads) {
        long page = SystemInfo.PAGE_SIZE;
        long bytes = Math.max(LEADER_BYTES, PROGRAM_CODE + (long) threads * PROGRAM_PER_THREAD);
        return (bytes + page - 1) / page * page;
    }

    /** What a process's leader told by its program: as {@link TreeInjections.Answers} holds them. */
    record ProcessAnswers(long brk, List<SigAction> actions, IntervalTimer real, IntervalTimer virtual,
            IntervalTimer prof) {
    }

    /**
     * Whether each of {@code all} runs its questions as syscall programs (its scratch executable,
     * SIGTRAP neither ignored nor pending in it: see {@link #trapFree}), and, in {@code sigsets},
     * the signals whose actions it is asked (caught or ignored, as its /proc status says, and SIGCHLD).
     */
    static boolean[] programmable(List<Injections> all, List<List<ThreadState>> threads, long[] sigsets)
            throws IOException {
        boolean[] out = new boolean[all.size()];
        for (int i = 0; i < all.size(); i++) {
            ProcStatus status = ProcStatus.read(all.get(i).pid());
            sigsets[i] = status.sigmask("SigCgt") | status.sigmask("SigIgn");
            out[i] = all.get(i).executable && trapFree(all.get(i).pid(), status, threads.get(i));
            all.get(i).programs = out[i];
        }
        return out;
    }

    /**
     * Each process's own questions (brk, the actions of the signals of {@code sigsets}, the interval
     * timers) as one program of its leader, all leaders run at once: one ptrace-stop per process
     * where one per question was (a JVM catches a dozen signals).
     */
    static List<ProcessAnswers> askProcessesByProgram(List<Injections> all, long[] sigsets) throws IOException {
        List<SyscallProgram.Run> runs = new ArrayList<>(all.size());
        List<ByteBuffer> areas = new ArrayList<>(all.size());
        List<int[]> asked = new ArrayList<>(all.size());
        int[] timers = {Syscalls.ITIMER_REAL, Syscalls.ITIMER_VIRTUAL, Syscalls.ITIMER_PROF};
        for (int p = 0; p < all.size(); p++) {
            Injections inj = all.get(p);
            long base = inj.scratch + SystemInfo.PAGE_SIZE;
            ByteBuffer area = ByteBuffer.allocateDirect(LEADER_BYTES).order(ByteOrder.nativeOrder());
            area.put(SyscallProgram.code()).position(PROGRAM_CODE);
            long answers = base + PROGRAM_CODE + SyscallProgram.tableBytes(LEADER_QUESTIONS);
            SyscallProgram.add(area, Syscalls.BRK, 0);
            List<Integer> sigs = new ArrayList<>();
            for (int sig = 1; sig <= SigAction.SIGMAX; sig++) {
                if (SigAction.isDumpable(sig) && asked(sigsets[p], sig)) {
                    SyscallProgram.add(area, Syscalls.RT_SIGACTION, sig, 0, answers + (long) sigs.size() * KERNEL_SIGACTION_SIZE,
                            Ptrace.KERNEL_SIGSET_SIZE);
                    sigs.add(sig);
                }
            }
            for (int w = 0; w < timers.length; w++) {
                SyscallProgram.add(area, Syscalls.GETITIMER, timers[w],
                        answers + (long) (SigAction.SIGMAX + w) * KERNEL_SIGACTION_SIZE);
            }
            SyscallProgram.end(area);
            area.clear();
            ProcessMemory.write(inj.pid(), base, area);
            areas.add(area);
            asked.add(sigs.stream().mapToInt(Integer::intValue).toArray());
            runs.add(new SyscallProgram.Run(inj.pid(), base, base + PROGRAM_CODE));
        }
        runUnmasked(runs);
        List<ProcessAnswers> out = new ArrayList<>(all.size());
        for (int p = 0; p < all.size(); p++) {
            ByteBuffer area = areas.get(p).clear();
            ProcessMemory.read(all.get(p).pid(), all.get(p).scratch + SystemInfo.PAGE_SIZE, area);
            ByteBuffer table = area.duplicate().position(PROGRAM_CODE).slice().order(ByteOrder.nativeOrder());
            int answers = PROGRAM_CODE + SyscallProgram.tableBytes(LEADER_QUESTIONS);
            int pid = all.get(p).pid();
            long brk = programCheck("brk(0)", pid, SyscallProgram.result(table, 0));
            int[] sigs = asked.get(p);
            List<SigAction> actions = new ArrayList<>();
            for (int k = 0; k < sigs.length; k++) {
                programCheck("rt_sigaction(" + sigs[k] + ")", pid, SyscallProgram.result(table, 1 + k));
                int at = answers + k * KERNEL_SIGACTION_SIZE;
                SigAction a = new SigAction(sigs[k], area.getLong(at), area.getLong(at + 8), area.getLong(at + 16),
                        area.getLong(at + 24));
                if (!a.isDefault()) {
                    actions.add(a);
                }
            }
            IntervalTimer[] it = new IntervalTimer[timers.length];
            for (int w = 0; w < timers.length; w++) {
                programCheck("getitimer(" + timers[w] + ")", pid, SyscallProgram.result(table, 1 + sigs.length + w));
                int at = answers + (SigAction.SIGMAX + w) * KERNEL_SIGACTION_SIZE;
                it[w] = new IntervalTimer(area.getLong(at), area.getLong(at + 8), area.getLong(at + 16), area.getLong(at + 24));
            }
            out.add(new ProcessAnswers(brk, actions, it[0], it[1], it[2]));
        }
        return out;
    }

    /**
     * Runs {@code runs} with the int3's SIGTRAP let through each thread's mask and every other
     * signal held, then every signal blocked again, as the injections around them expect.
     */
    private static void runUnmasked(List<SyscallProgram.Run> runs) throws IOException {
        for (SyscallProgram.Run r : runs) {
            Ptrace.setSigmask(r.tid(), SyscallProgram.MASK);
        }
        SyscallProgram.run(runs);
        for (SyscallProgram.Run r : runs) {
            Ptrace.setSigmask(r.tid(), -1L);
        }
    }

    private static long programCheck(String what, int pid, long rc) throws DumpException {
        if (Syscalls.isError(rc)) {
            throw new DumpException("injected " + what + " in process " + pid + " failed: " + Errno.name(Syscalls.errno(rc)));
        }
        return rc;
    }

    /**
     * Every thread of {@code threads} with what only the thread itself can tell, its clear_child_tid
     * (glibc's {@code pthread->tid}; prctl(PR_GET_TID_ADDRESS) acts on the caller only) and its
     * alternate signal stack (sigaltstack(NULL, &old): ss_sp, ss_flags, ss_size at 0, 8, 16; the
     * injection leaves the thread's stack pointer as it was, so SS_ONSTACK says whether it was
     * running on its alternate stack at the freeze) and its parent-death signal
     * (prctl(PR_GET_PDEATHSIG), per thread like the others). The threads share the leader's address space,
     * so the scratch page and the syscall instruction serve them all; their registers are set back
     * at the resume like every thread's.
     */
    List<ThreadState> askThreads(List<ThreadState> threads) throws IOException {
        return askThreadsAll(List.of(this), List.of(threads)).get(0);
    }

    /**
     * As {@link #askThreads}, for the threads of every process of a tree at once ({@code threads.get(i)}
     * those of {@code all.get(i)}). A process whose scratch is executable, with SIGTRAP neither
     * ignored nor pending, has its threads run the three questions as one syscall program each
     * ({@link SyscallProgram}: one ptrace-stop per thread instead of six; 100 threads took ~9 ms
     * asked syscall by syscall); the others are asked one question at a time, each question one
     * batch over all their threads ({@link SyscallBatch}), in groups whose answers fit the scratch page.
     */
    static List<List<ThreadState>> askThreadsAll(List<Injections> all, List<List<ThreadState>> threads)
            throws IOException {
        return askThreadsAll(all, threads, programmable(all, threads, new long[all.size()]));
    }

    /** As {@link #askThreadsAll(List, List)}, {@code byProgram[i]} saying whether process i runs programs ({@link #programmable}). */
    static List<List<ThreadState>> askThreadsAll(List<Injections> all, List<List<ThreadState>> threads,
            boolean[] byProgramFlags) throws IOException {
        List<List<ThreadState>> out = new ArrayList<>(all.size());
        List<Injections> byProgram = new ArrayList<>();
        List<List<ThreadState>> programThreads = new ArrayList<>();
        List<Injections> byBatch = new ArrayList<>();
        List<List<ThreadState>> batchThreads = new ArrayList<>();
        for (int p = 0; p < all.size(); p++) {
            out.add(null);
            if (byProgramFlags[p]) {
                byProgram.add(all.get(p));
                programThreads.add(threads.get(p));
            } else {
                byBatch.add(all.get(p));
                batchThreads.add(threads.get(p));
            }
        }
        List<List<ThreadState>> programmed = byProgram.isEmpty() ? List.of() : askByProgram(byProgram, programThreads);
        List<List<ThreadState>> batched = byBatch.isEmpty() ? List.of() : askByBatch(byBatch, batchThreads);
        for (int p = 0, a = 0, b = 0; p < all.size(); p++) {
            out.set(p, a < byProgram.size() && byProgram.get(a) == all.get(p) ? programmed.get(a++) : batched.get(b++));
        }
        return out;
    }

    /**
     * Whether a syscall program may run in the threads of {@code pid}: its int3 raises a SIGTRAP
     * that must neither reset an ignored SIGTRAP's action nor let one already pending through.
     */
    private static boolean trapFree(int pid, ProcStatus status, List<ThreadState> threads) throws IOException {
        long trap = Ptrace.sigmaskBit(SystemInfo.SIGTRAP);
        if (((status.sigmask("SigIgn") | status.sigmask("ShdPnd")) & trap) != 0) {
            log.debug("dump: process {} ignores or has pending a SIGTRAP: its threads asked syscall by syscall", pid);
            return false;
        }
        for (ThreadState t : threads) {
            for (SigInfo s : t.pending()) {
                if (s.signo() == SystemInfo.SIGTRAP) {
                    log.debug("dump: thread {} has a SIGTRAP pending: the threads of {} asked syscall by syscall",
                            t.tid(), pid);
                    return false;
                }
            }
        }
        return true;
    }

    /** The questions as one syscall program per thread, all threads of all {@code all} run at once. */
    private static List<List<ThreadState>> askByProgram(List<Injections> all, List<List<ThreadState>> threads)
            throws IOException {
        long t0 = System.nanoTime();
        List<SyscallProgram.Run> runs = new ArrayList<>();
        List<ByteBuffer> areas = new ArrayList<>(all.size());
        for (int p = 0; p < all.size(); p++) {
            Injections inj = all.get(p);
            List<ThreadState> some = threads.get(p);
            long base = inj.scratch + SystemInfo.PAGE_SIZE;
            ByteBuffer area = ByteBuffer.allocateDirect(PROGRAM_CODE + some.size() * PROGRAM_PER_THREAD)
                    .order(ByteOrder.nativeOrder());
            area.put(SyscallProgram.code());
            for (int i = 0; i < some.size(); i++) {
                int room = PROGRAM_CODE + i * PROGRAM_PER_THREAD;
                long answers = base + room + PROGRAM_TABLE;
                area.position(room);
                SyscallProgram.add(area, Syscalls.PRCTL, SystemInfo.PR_GET_TID_ADDRESS, answers);
                SyscallProgram.add(area, Syscalls.SIGALTSTACK, 0, answers + 8);
                SyscallProgram.add(area, Syscalls.PRCTL, SystemInfo.PR_GET_PDEATHSIG, answers + 32);
                SyscallProgram.end(area);
                runs.add(new SyscallProgram.Run(some.get(i).tid(), base, base + room));
            }
            area.clear();
            ProcessMemory.write(inj.pid(), base, area);
            areas.add(area);
        }
        long t1 = System.nanoTime();
        runUnmasked(runs);
        long t2 = System.nanoTime();
        List<List<ThreadState>> out = new ArrayList<>(all.size());
        for (int p = 0; p < all.size(); p++) {
            ByteBuffer area = areas.get(p).clear();
            ProcessMemory.read(all.get(p).pid(), all.get(p).scratch + SystemInfo.PAGE_SIZE, area);
            List<ThreadState> some = threads.get(p);
            List<ThreadState> asked = new ArrayList<>(some.size());
            for (int i = 0; i < some.size(); i++) {
                ThreadState t = some.get(i);
                int room = PROGRAM_CODE + i * PROGRAM_PER_THREAD;
                ByteBuffer table = area.duplicate().order(ByteOrder.nativeOrder()).position(room).slice()
                        .order(ByteOrder.nativeOrder());
                for (int q = 0; q < THREAD_QUESTIONS.length; q++) {
                    long rc = SyscallProgram.result(table, q);
                    if (Syscalls.isError(rc)) {
                        throw new DumpException("injected " + THREAD_QUESTIONS[q] + " in thread " + t.tid() + " failed: "
                                + Errno.name(Syscalls.errno(rc)));
                    }
                }
                int at = room + PROGRAM_TABLE;
                asked.add(t.withInjected(area.getLong(at), stack(t, area.getLong(at + 8), area.getLong(at + 24),
                        area.getInt(at + 16)), area.getInt(at + 32)));
            }
            out.add(asked);
        }
        log.debug("dump: {} threads asked by syscall programs: set up {} us, run {} us, read {} us", runs.size(),
                (t1 - t0) / 1000, (t2 - t1) / 1000, (System.nanoTime() - t2) / 1000);
        return out;
    }

    private static SigAltStack stack(ThreadState t, long sp, long size, int flags) throws DumpException {
        try {
            return new SigAltStack(sp, size, flags);
        } catch (IllegalArgumentException e) {
            throw new DumpException("thread " + t.tid() + ": " + e.getMessage(), e);
        }
    }

    /** The questions one at a time, each a batch over every thread of {@code all}, in groups whose answers fit the scratch page. */
    private static List<List<ThreadState>> askByBatch(List<Injections> all, List<List<ThreadState>> threads)
            throws IOException {
        int group = (int) (SystemInfo.PAGE_SIZE / PER_THREAD);
        int most = 0;
        List<List<ThreadState>> out = new ArrayList<>(all.size());
        for (List<ThreadState> t : threads) {
            most = Math.max(most, t.size());
            out.add(new ArrayList<>(t.size()));
        }
        ByteBuffer answers = ByteBuffer.allocateDirect((int) SystemInfo.PAGE_SIZE).order(ByteOrder.nativeOrder());
        for (int from = 0; from < most; from += group) {
            List<ThreadState> asked = new ArrayList<>();
            List<SyscallBatch.Call> tidAddresses = new ArrayList<>();
            List<SyscallBatch.Call> stacks = new ArrayList<>();
            List<SyscallBatch.Call> deathSigs = new ArrayList<>();
            for (int p = 0; p < all.size(); p++) {
                List<ThreadState> some = group(threads.get(p), from, group);
                int n = some.size();
                long scratch = all.get(p).scratch;
                long syscall = all.get(p).syscallAddress();
                for (int i = 0; i < n; i++) {
                    int tid = some.get(i).tid();
                    asked.add(some.get(i));
                    tidAddresses.add(new SyscallBatch.Call(tid, syscall, SystemInfo.PR_GET_TID_ADDRESS, scratch + 8L * i,
                            0, 0, 0));
                    stacks.add(new SyscallBatch.Call(tid, syscall, 0, scratch + 8L * n + 24L * i));
                    deathSigs.add(new SyscallBatch.Call(tid, syscall, SystemInfo.PR_GET_PDEATHSIG,
                            scratch + 32L * n + 4L * i, 0, 0, 0));
                }
            }
            long t0 = System.nanoTime();
            checkEach("prctl(PR_GET_TID_ADDRESS)", asked, SyscallBatch.inject(Syscalls.PRCTL, tidAddresses));
            long t1 = System.nanoTime();
            checkEach("sigaltstack(NULL, &old)", asked, SyscallBatch.inject(Syscalls.SIGALTSTACK, stacks));
            long t2 = System.nanoTime();
            checkEach("prctl(PR_GET_PDEATHSIG)", asked, SyscallBatch.inject(Syscalls.PRCTL, deathSigs));
            log.debug("dump: {} threads asked: tid address {} us, sigaltstack {} us, pdeathsig {} us", asked.size(),
                    (t1 - t0) / 1000, (t2 - t1) / 1000, (System.nanoTime() - t2) / 1000);
            for (int p = 0; p < all.size(); p++) {
                List<ThreadState> some = group(threads.get(p), from, group);
                int n = some.size();
                if (n == 0) {
                    continue;
                }
                answers.clear().limit(PER_THREAD * n);
                ProcessMemory.read(all.get(p).pid(), all.get(p).scratch, answers);
                for (int i = 0; i < n; i++) {
                    ThreadState t = some.get(i);
                    int at = 8 * n + 24 * i;
                    SigAltStack stack = stack(t, answers.getLong(at), answers.getLong(at + 16), answers.getInt(at + 8));
                    out.get(p).add(t.withInjected(answers.getLong(8 * i), stack, answers.getInt(32 * n + 4 * i)));
                }
            }
        }
        return out;
    }

    /** The threads [from, from + size) of {@code threads}, fewer at its end (none past it). */
    private static List<ThreadState> group(List<ThreadState> threads, int from, int size) {
        return from >= threads.size() ? List.of() : threads.subList(from, Math.min(threads.size(), from + size));
    }

    private static void checkEach(String what, List<ThreadState> threads, long[] rcs) throws DumpException {
        for (int i = 0; i < rcs.length; i++) {
            if (Syscalls.isError(rcs[i])) {
                throw new DumpException("injected " + what + " in thread " + threads.get(i).tid() + " failed: "
                        + Errno.name(Syscalls.errno(rcs[i])));
            }
        }
    }

    /**
     * The non-default signal actions, 1..64 except SIGKILL and SIGSTOP: asked, one injected
     * rt_sigaction each, only of the signals /proc/PID/status says are caught or ignored, and of
     * SIGCHLD (whose SA_NOCLDSTOP / SA_NOCLDWAIT act even on the default action). The flags and mask
     * left on another default action act on nothing; asking for all 62 cost a stop each inside the
     * freeze (~0.15-0.35 ms apiece, most of the "inject" step of a process without handlers).
     */
    List<SigAction> signalActions() throws IOException {
        ProcStatus status = ProcStatus.read(injector.pid());
        long set = status.sigmask("SigCgt") | status.sigmask("SigIgn");
        List<SigAction> out = new ArrayList<>();
        for (int sig = 1; sig <= SigAction.SIGMAX; sig++) {
            if (!SigAction.isDumpable(sig) || !asked(set, sig)) {
                continue;
            }
            check("rt_sigaction(" + sig + ")", injector.inject(Syscalls.RT_SIGACTION, sig, 0, scratch,
                    Ptrace.KERNEL_SIGSET_SIZE));
            answer.clear();
            ProcessMemory.read(injector.pid(), scratch, answer);
            SigAction a = new SigAction(sig, answer.getLong(0), answer.getLong(8), answer.getLong(16), answer.getLong(24));
            if (!a.isDefault()) {
                out.add(a);
            }
        }
        return out;
    }

    /** Whether the action of {@code sig} is asked for: in {@code set} (bit sig-1, as /proc shows it), or SIGCHLD. */
    static boolean asked(long set, int sig) {
        return sig == SIGCHLD || (set & (1L << (sig - 1))) != 0;
    }

    /** Interval timer {@code which} (ITIMER_*), by getitimer: struct itimerval, interval then value. */
    IntervalTimer itimer(int which) throws IOException {
        check("getitimer(" + which + ")", injector.inject(Syscalls.GETITIMER, which, scratch));
        answer.clear();
        ProcessMemory.read(injector.pid(), scratch, answer);
        return new IntervalTimer(answer.getLong(0), answer.getLong(8), answer.getLong(16), answer.getLong(24));
    }

    /**
     * POSIX timer {@code id}'s interval and time left, by timer_gettime: struct itimerspec read as
     * {interval sec, nsec, value sec, nsec}.
     */
    long[] timerTimes(int id) throws IOException {
        check("timer_gettime(" + id + ")", injector.inject(Syscalls.TIMER_GETTIME, id, scratch));
        answer.clear();
        ProcessMemory.read(injector.pid(), scratch, answer);
        return new long[] {answer.getLong(0), answer.getLong(8), answer.getLong(16), answer.getLong(24)};
    }

    /** POSIX timer {@code id}'s overrun count of its last expiry, by timer_getoverrun. */
    int timerOverrun(int id) throws IOException {
        return (int) check("timer_getoverrun(" + id + ")", injector.inject(Syscalls.TIMER_GETOVERRUN, id));
    }

    /**
     * getsockopt(fd, level, name) of an int option, injected: the value at the scratch page, its
     * length (4) just after; an error (ENOPROTOOPT for an option this socket lacks) is -errno.
     */
    long intSockOpt(int fd, int level, int name) throws IOException {
        return sockOpt(fd, level, name, 4) == 0 ? answer.getInt(0) : lastError;
    }

    /** getsockopt of a struct timeval option (SO_RCVTIMEO, SO_SNDTIMEO), in microseconds. */
    long timevalSockOpt(int fd, int level, int name) throws IOException {
        long rc = sockOpt(fd, level, name, 16);
        if (rc != 0) {
            throw new DumpException("injected getsockopt(" + fd + ", " + level + ", " + name + ") failed: "
                    + Errno.name(Syscalls.errno(rc)));
        }
        return answer.getLong(0) * 1_000_000L + answer.getLong(8);
    }

    private long lastError;

    /** One option asked by {@link #sockOpts}: an int, or a struct timeval read in microseconds. */
    record SockOpt(int level, int name, boolean timeval) {
        static SockOpt of(int level, int name) {
            return new SockOpt(level, name, false);
        }

        static SockOpt timeval(int level, int name) {
            return new SockOpt(level, name, true);
        }
    }

    /** A socket option's answer room in a program: the value (up to a timeval) at 0, its length at 16. */
    private static final int SOCKOPT_ROOM = 32;

    /**
     * getsockopt of every option of {@code opts} on socket {@code fd}: each value (an int option's
     * int, a timeval's microseconds), or -errno for an int option the socket does not have
     * (ENOPROTOOPT); a timeval one that fails is an error. As one syscall program of the leader when
     * it runs programs (one ptrace-stop for the ~15 options of a socket, where there were two per
     * option), else injected one at a time.
     */
    long[] sockOpts(int fd, List<SockOpt> opts) throws IOException {
        long[] out = new long[opts.size()];
        if (!programs) {
            for (int i = 0; i < opts.size(); i++) {
                SockOpt o = opts.get(i);
                out[i] = o.timeval() ? timevalSockOpt(fd, o.level(), o.name()) : intSockOpt(fd, o.level(), o.name());
            }
            return out;
        }
        long base = scratch + SystemInfo.PAGE_SIZE;
        int answersAt = PROGRAM_CODE + SyscallProgram.tableBytes(opts.size());
        ByteBuffer area = ByteBuffer.allocateDirect(answersAt + opts.size() * SOCKOPT_ROOM).order(ByteOrder.nativeOrder());
        area.put(SyscallProgram.code()).position(PROGRAM_CODE);
        for (int i = 0; i < opts.size(); i++) {
            SockOpt o = opts.get(i);
            int room = answersAt + i * SOCKOPT_ROOM;
            area.putInt(room + 16, o.timeval() ? 16 : 4);
            SyscallProgram.add(area, Syscalls.GETSOCKOPT, fd, o.level(), o.name(), base + room, base + room + 16);
        }
        SyscallProgram.end(area);
        if (answersAt + (long) opts.size() * SOCKOPT_ROOM > scratchBytes - SystemInfo.PAGE_SIZE) {
            throw new IllegalArgumentException(opts.size() + " socket options do not fit a program area");
        }
        area.clear();
        int pid = injector.pid();
        ProcessMemory.write(pid, base, area);
        runUnmasked(List.of(new SyscallProgram.Run(pid, base, base + PROGRAM_CODE)));
        area.clear();
        ProcessMemory.read(pid, base, area);
        ByteBuffer table = area.duplicate().position(PROGRAM_CODE).slice().order(ByteOrder.nativeOrder());
        for (int i = 0; i < opts.size(); i++) {
            SockOpt o = opts.get(i);
            long rc = SyscallProgram.result(table, i);
            int room = answersAt + i * SOCKOPT_ROOM;
            if (o.timeval()) {
                if (rc != 0) {
                    throw new DumpException("injected getsockopt(" + fd + ", " + o.level() + ", " + o.name() + ") failed: "
                            + Errno.name(Syscalls.errno(rc)));
                }
                out[i] = area.getLong(room) * 1_000_000L + area.getLong(room + 8);
            } else {
                out[i] = rc != 0 ? rc : area.getInt(room);
            }
        }
        return out;
    }

    private long sockOpt(int fd, int level, int name, int len) throws IOException {
        ByteBuffer l = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putInt(0, len);
        ProcessMemory.write(injector.pid(), scratch + 64, l);
        long rc = injector.inject(Syscalls.GETSOCKOPT, fd, level, name, scratch, scratch + 64);
        if (Syscalls.isError(rc)) {
            lastError = rc;
            return rc;
        }
        answer.clear();
        ProcessMemory.read(injector.pid(), scratch, answer);
        return 0;
    }

    /**
     * A socket's receive queue read without consuming it: its packets; for each, the fds its
     * SCM_RIGHTS message installed in the process while peeked (numbers in the process's table,
     * empty for most packets: the caller reads them, then closes them with {@link #closeFds});
     * and whether other control data (credentials) or a truncated one rode on any.
     */
    record Peeked(List<byte[]> packets, List<List<Integer>> installed, boolean control) {
        /** Every fd installed by the peeks, in order. */
        List<Integer> allInstalled() {
            List<Integer> all = new ArrayList<>();
            installed.forEach(all::addAll);
            return all;
        }
    }

    /** The largest datagram {@link #peekQueue} reads, and the most it reads of one queue. */
    static final int PEEK_BUFFER = 256 * 1024;
    static final long PEEK_LIMIT = 64L << 20;
    /** The most packets it reads of one queue (empty datagrams add no bytes: this bounds them). */
    static final int PEEK_PACKETS = 1 << 20;
    /** struct msghdr on x86-64: msg_control and msg_controllen; struct cmsghdr's length (len, level, type). */
    private static final int MSGHDR_CONTROL = 32;
    private static final int MSGHDR_CONTROLLEN = 40;
    private static final int CMSGHDR_SIZE = 16;
    private static final int SCM_RIGHTS = 1;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    /** Where the control buffer lies in the peek region's first page, and its size (CMSG_SPACE of SCM_MAX_FD fds fits). */
    private static final int CONTROL_AT = 512;
    private static final int CONTROL_SIZE = 2048;

    /**
     * Socket {@code fd}'s whole receive queue, by recvmsg(MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC)
     * injected with SO_PEEK_OFF stepping through it (set back to what it was after): nothing is
     * consumed. A stream's bytes come as one packet, cut after each message that carries fds (the
     * kernel's peek stops there: those fds ride on the bytes peeked with them); a datagram or
     * seqpacket queue packet by packet. The fds a peeked SCM_RIGHTS message carries are installed in
     * the process: they are returned (and closed here if the peek fails).
     */
    Peeked peekQueue(int fd, boolean stream) throws IOException {
        long page = pageSize;
        long region = check("mmap(peek buffer)", injector.inject(Syscalls.MMAP, 0, PEEK_BUFFER + page,
                Syscalls.PROT_READ | Syscalls.PROT_WRITE, Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0));
        long data = region + page;
        List<byte[]> packets = new ArrayList<>();
        List<List<Integer>> installed = new ArrayList<>();
        List<Integer> all = new ArrayList<>();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        boolean control = false;
        boolean done = false;
        long total = 0;
        int count = 0;
        long peekOff = intSockOpt(fd, Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF); // -1 unless the program set one
        try {
            long rc = setIntSockOpt(fd, Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF, 0);
            if (Syscalls.isError(rc)) {
                throw new DumpException("injected setsockopt(" + fd + ", SO_PEEK_OFF) failed: " + Errno.name(Syscalls.errno(rc)));
            }
            ByteBuffer hdr = ByteBuffer.allocateDirect(Sockets.SIZEOF_MSGHDR + Sockets.SIZEOF_IOVEC)
                    .order(ByteOrder.nativeOrder());
            int iov = Sockets.SIZEOF_MSGHDR;
            ByteBuffer flags = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
            ByteBuffer cmsg = ByteBuffer.allocateDirect(CONTROL_SIZE).order(ByteOrder.nativeOrder());
            ByteBuffer controlLen = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
            while (true) {
                hdr.clear();
                hdr.putLong(Sockets.MSGHDR_IOV, region + iov).putLong(Sockets.MSGHDR_IOVLEN, 1);
                hdr.putLong(MSGHDR_CONTROL, region + CONTROL_AT).putLong(MSGHDR_CONTROLLEN, CONTROL_SIZE);
                hdr.putLong(iov, data).putLong(iov + 8, PEEK_BUFFER);
                ProcessMemory.write(injector.pid(), region, hdr.clear());
                long n = injector.inject(Syscalls.RECVMSG, fd, region,
                        Sockets.MSG_PEEK | Sockets.MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (stream ? 0 : Sockets.MSG_TRUNC));
                if (Syscalls.isError(n)) {
                    if (Syscalls.errno(n) == Errno.EAGAIN) {
                        break;
                    }
                    throw new DumpException("injected recvmsg(" + fd + ", MSG_PEEK) failed: " + Errno.name(Syscalls.errno(n)));
                }
                ProcessMemory.read(injector.pid(), region + Sockets.MSGHDR_FLAGS, flags.clear());
                control |= (flags.getInt(0) & Sockets.MSG_CTRUNC) != 0;
                ProcessMemory.read(injector.pid(), region + MSGHDR_CONTROLLEN, controlLen.clear());
                List<Integer> fds = new ArrayList<>();
                long clen = Math.min(controlLen.getLong(0), CONTROL_SIZE);
                if (clen > 0) {
                    ProcessMemory.read(injector.pid(), region + CONTROL_AT, cmsg.clear());
                    int at = 0;
                    while (at + CMSGHDR_SIZE <= clen) {
                        long len = cmsg.getLong(at);
                        int level = cmsg.getInt(at + 8);
                        int type = cmsg.getInt(at + 12);
                        if (len < CMSGHDR_SIZE || at + len > clen) {
                            break;
                        }
                        if (level == Sockets.SOL_SOCKET && type == SCM_RIGHTS) {
                            for (int i = 0; i + 4 <= len - CMSGHDR_SIZE; i += 4) {
                                int got = cmsg.getInt(at + CMSGHDR_SIZE + i);
                                fds.add(got);
                                all.add(got);
                            }
                        } else {
                            control = true; // credentials (SO_PASSCRED) or another kind: not carried
                        }
                        at += (int) ((len + 7) & ~7L);
                    }
                }
                if (stream && n == 0 && fds.isEmpty()) {
                    break; // end of a stream whose peer shut down
                }
                // an empty datagram is one like the others: the kernel marks it peeked, and the next peek
                // at the same offset steps over it (__skb_try_recv_from_queue)
                if (++count > PEEK_PACKETS) {
                    throw new DumpException("fd " + fd + ": more than " + PEEK_PACKETS + " packets queued");
                }
                if (n > PEEK_BUFFER) {
                    throw new DumpException("fd " + fd + ": a queued packet of " + n + " bytes (lazymig carries up to "
                            + PEEK_BUFFER + ")");
                }
                total += n;
                if (total > PEEK_LIMIT) {
                    throw new DumpException("fd " + fd + ": more than " + PEEK_LIMIT + " bytes queued");
                }
                ByteBuffer got = ByteBuffer.allocateDirect((int) Math.max(n, 1));
                if (n > 0) {
                    ProcessMemory.read(injector.pid(), data, got);
                }
                byte[] b = new byte[(int) n];
                got.get(0, b);
                if (stream) {
                    bytes.write(b);
                    if (!fds.isEmpty()) {
                        packets.add(bytes.toByteArray());
                        installed.add(List.copyOf(fds));
                        bytes.reset();
                    }
                } else {
                    packets.add(b);
                    installed.add(List.copyOf(fds));
                }
            }
            done = true;
        } finally {
            setIntSockOpt(fd, Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF, peekOff < 0 ? -1 : (int) peekOff);
            if (!done) {
                closeFds(all);
            }
            check("munmap(peek buffer)", injector.inject(Syscalls.MUNMAP, region, PEEK_BUFFER + page));
        }
        if (stream && bytes.size() > 0) {
            packets.add(bytes.toByteArray());
            installed.add(List.of());
        }
        return new Peeked(packets, installed, control);
    }

    /** Closes, by injected close, the fds a peek installed in the process; a failure is the first one's error. */
    void closeFds(List<Integer> fds) throws IOException {
        String failed = null;
        for (int f : fds) {
            long rc = injector.inject(Syscalls.CLOSE, f);
            if (Syscalls.isError(rc) && failed == null) {
                failed = "injected close(" + f + ") of an fd installed by a peek failed: " + Errno.name(Syscalls.errno(rc));
            }
        }
        if (failed != null) {
            throw new DumpException(failed);
        }
    }

    /** setsockopt(fd, level, name, &value, 4), injected; -errno on failure. */
    long setIntSockOpt(int fd, int level, int name, int value) throws IOException {
        ByteBuffer v = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putInt(0, value);
        ProcessMemory.write(injector.pid(), scratch + 128, v);
        return injector.inject(Syscalls.SETSOCKOPT, fd, level, name, scratch + 128, 4);
    }

    /** Unmaps the scratch page. */
    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            check("munmap(scratch)", injector.inject(Syscalls.MUNMAP, scratch, scratchBytes));
        }
    }

    private static long check(String what, long rc) throws DumpException {
        if (Syscalls.isError(rc)) {
            throw new DumpException("injected " + what + " failed: " + Errno.name(Syscalls.errno(rc)));
        }
        return rc;
    }
}
