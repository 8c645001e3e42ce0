package io.lazymig.restore;

import io.lazymig.images.SigAltStack;
import io.lazymig.images.ThreadState;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every thread of the process: the leader is the stub; each other thread is created with its
 * tid by clone3, all of them in one run of the leader ({@link ThreadClone}). Then the per-thread
 * state only the thread itself can register is set by the thread itself (each of these syscalls
 * acts on the caller only): the robust futex list, rseq (not inherited across CLONE_VM), the
 * alternate signal stack (a thread created with CLONE_VM starts without one), the
 * clear_child_tid address (set_tid_address; for a created thread CLONE_CHILD_CLEARTID has set it
 * already) and, for the created ones, the thread's name. Every thread runs its own calls, all of
 * them at once ({@link SyscallRun#runThreads}, in groups of {@link #GROUP} for the scratch area): a
 * process with 100 threads waits on the scheduler once, not once per kind and thread (injected
 * one kind at a time into all the threads, it took 5-20 ms). rseq reads its area inside the
 * syscall, so this runs after the lazy handoff (its pages are never lazy: the dump makes them
 * eager, and {@link AddressSpace} writes them for images that do not); the clone3 needs
 * CAP_CHECKPOINT_RESTORE for set_tid, so it runs before the credentials are dropped.
 */
final class ThreadStep implements TreeStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    /**
     * Threads per run: their in-memory arguments (a stack_t of 24 bytes, a name of up to 16) and
     * their records (four calls of {@link SyscallRun#RECORD} bytes) must fit in the scratch area
     * together; 128 take 37 KiB of its 64.
     */
    static final int GROUP = 128;

    /** A stack_t: 24 bytes, a multiple of 8. */
    private static final int ALT_STACK_SIZE = 24;

    @Override
    public String name() {
        return "thread state";
    }

    /**
     * Each process's threads created (one run of its leader each), then the own state of every
     * thread of the tree in one round ({@link SyscallRun#runThreads}; round i takes group i of each
     * process): a tree of 4 single-threaded processes waited on the scheduler 4 times here, 0.5-20 ms
     * each in make bench. The leader's clear_child_tid address is set in its run too.
     */
    @Override
    public void runAll(List<Restoring> all) throws IOException {
        List<List<List<Running>>> groupsOf = new ArrayList<>(all.size());
        int rounds = 0;
        for (Restoring r : all) {
            createThreads(r);
            List<List<Running>> g = groups(running(r), GROUP);
            groupsOf.add(g);
            rounds = Math.max(rounds, g.size());
        }
        for (int i = 0; i < rounds; i++) {
            List<Restoring> in = new ArrayList<>();
            List<List<Running>> groups = new ArrayList<>();
            for (int p = 0; p < all.size(); p++) {
                if (i < groupsOf.get(p).size()) {
                    in.add(all.get(p));
                    groups.add(groupsOf.get(p).get(i));
                }
            }
            restore(in, groups);
        }
    }

    /** The threads of {@code r}'s process other than its leader, created with their tids. */
    private static void createThreads(Restoring r) throws IOException {
        ThreadState leader = r.process.leader();
        List<ThreadState> threads = r.process.threads();
        if (threads.size() > 1) {
            boolean sameTid = r.pid == leader.tid();
            List<ThreadState> others = new ArrayList<>(threads.size() - 1);
            for (ThreadState t : threads) {
                if (t.tid() != leader.tid()) {
                    others.add(t);
                }
            }
            long t0 = System.nanoTime();
            ThreadClone.createAll(r.stub, others, sameTid,
                    m -> r.created.add(new Restoring.Created(m.state(), r.stub.forThread(m.tid()))));
            log.debug("restore: {} threads of process {} created in {} us", others.size(), r.pid,
                    (System.nanoTime() - t0) / 1000);
        }
    }

    /** A thread of the process being restored: its tid now, its state, and whether it is the leader (the stub). */
    record Running(int tid, ThreadState state, boolean leader) {
    }

    /** Every thread of {@code r}'s process with the tid it has now, the leader first (once the threads are created). */
    static List<Running> running(Restoring r) {
        List<Running> all = new ArrayList<>();
        all.add(new Running(r.pid, r.process.leader(), true));
        for (Restoring.Created c : r.created) {
            all.add(new Running(c.tid(), c.state(), false));
        }
        return all;
    }

    /** {@code all} cut into consecutive groups of at most {@code size}, in order. */
    static <T> List<List<T>> groups(List<T> all, int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("group size " + size);
        }
        List<List<T>> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i += size) {
            out.add(all.subList(i, Math.min(all.size(), i + size)));
        }
        return out;
    }

    /**
     * The per-thread state of {@code groups.get(p)}, threads of {@code procs.get(p)}'s process: each
     * thread runs its own calls, every thread of every process at once ({@link SyscallRun#runThreads}):
     * robust list, rseq, alternate stack (the leader's in any case: the stub may have inherited one
     * from restore's thread, as fork keeps it; a created thread starts without), name (created
     * threads: the leader's is the process's, set with it), and the leader's set_tid_address.
     */
    private static void restore(List<Restoring> procs, List<List<Running>> groups) throws IOException {
        long t0 = System.nanoTime();
        List<SyscallRun.Part> parts = new ArrayList<>(procs.size());
        List<List<List<String>>> namesOf = new ArrayList<>(procs.size());
        int threads = 0;
        for (int p = 0; p < procs.size(); p++) {
            List<List<String>> names = new ArrayList<>();
            parts.add(prepare(procs.get(p), groups.get(p), names));
            namesOf.add(names);
            threads += groups.get(p).size();
        }
        long t1 = System.nanoTime();
        long[][][] rcs = SyscallRun.runThreads(parts);
        log.debug("restore: own state of {} threads{}: arguments written in {} us, run in {} us", threads,
                procs.size() > 1 ? " in " + procs.size() + " processes" : "", (t1 - t0) / 1000, (System.nanoTime() - t1) / 1000);
        for (int p = 0; p < parts.size(); p++) {
            SyscallRun.Part part = parts.get(p);
            for (int t = 0; t < rcs[p].length; t++) {
                for (int i = 0; i < rcs[p][t].length; i++) {
                    if (SyscallRun.failed(rcs[p][t][i])) {
                        int errno = Syscalls.errno(rcs[p][t][i]);
                        long[] args = part.calls().get(t).get(i).args();
                        StringBuilder sb = new StringBuilder("injected ").append(namesOf.get(p).get(t).get(i)).append('(');
                        for (int a = 0; a < args.length; a++) {
                            sb.append(a > 0 ? ", " : "").append("0x").append(Long.toHexString(args[a]));
                        }
                        throw new RestoreException(sb.append(") in thread ").append(part.tids().get(t)).append(" failed: ")
                                .append(Errno.name(errno)).append(" (").append(Errno.text(errno)).append(')').toString());
                    }
                }
            }
        }
    }

    /**
     * The calls of {@code group}'s threads (of {@code r}'s process), their in-memory arguments (stack_ts,
     * names) laid out in one buffer and written with one process_vm_writev (one write and one direct
     * buffer per thread cost ~1-3 ms for 100 threads); {@code names} gets each call's name.
     */
    private static SyscallRun.Part prepare(Restoring r, List<Running> group, List<List<String>> names)
            throws IOException {
        Stub stub = r.stub;
        stub.resetScratch();
        int size = 0;
        for (Running t : group) {
            size += (t.leader() || t.state().altStack().isEnabled() ? ALT_STACK_SIZE : 0)
                    + (t.leader() ? 0 : aligned(nameBytes(t.state().comm()).length + 1));
        }
        ByteBuffer memory = Stub.struct(Math.max(size, 8));
        long base = stub.cursor();
        int at = 0;
        List<Integer> tids = new ArrayList<>(group.size());
        List<List<SyscallRun.Call>> calls = new ArrayList<>(group.size());
        for (Running t : group) {
            ThreadState s = t.state();
            List<SyscallRun.Call> c = new ArrayList<>(5);
            List<String> n = new ArrayList<>(5);
            if (s.robustList().head() != 0) {
                c.add(new SyscallRun.Call(Syscalls.SET_ROBUST_LIST, s.robustList().head(), s.robustList().length()));
                n.add("set_robust_list");
            }
            if (s.rseq().isRegistered()) {
                c.add(new SyscallRun.Call(Syscalls.RSEQ, s.rseq().abiPointer(), s.rseq().abiSize(), 0, s.rseq().signature()));
                n.add("rseq");
            }
            if (t.leader() || s.altStack().isEnabled()) {
                altStack(memory, at, s.altStack());
                c.add(new SyscallRun.Call(Syscalls.SIGALTSTACK, base + at, 0));
                n.add("sigaltstack");
                at += ALT_STACK_SIZE;
            }
            if (!t.leader()) {
                byte[] b = nameBytes(s.comm());
                memory.put(at, b).put(at + b.length, (byte) 0);
                c.add(new SyscallRun.Call(Syscalls.PRCTL, SystemInfo.PR_SET_NAME, base + at, 0, 0, 0));
                n.add("prctl(PR_SET_NAME)");
                at += aligned(b.length + 1);
            } else if (s.clearTidAddress() != 0) {
                c.add(new SyscallRun.Call(Syscalls.SET_TID_ADDRESS, s.clearTidAddress()));
                n.add("set_tid_address");
            }
            tids.add(t.tid());
            calls.add(c);
            names.add(n);
        }
        if (stub.put(memory) != base) {
            throw new IllegalStateException("the threads' arguments not where they were laid out for");
        }
        return new SyscallRun.Part(stub, tids, calls);
    }

    /**
     * The stack_t for sigaltstack(&ss, NULL): its base, size and SS_AUTODISARM, or SS_DISABLE.
     * SS_ONSTACK is what the kernel reports while the thread runs on the stack, not a mode to set: it
     * is dropped (the kernel tells it again from the stack pointer once the registers are back).
     */
    private static void altStack(ByteBuffer into, int at, SigAltStack s) {
        int flags = s.isEnabled() ? s.flags() & SigAltStack.SS_AUTODISARM : SigAltStack.SS_DISABLE;
        into.putLong(at, s.isEnabled() ? s.sp() : 0).putInt(at + 8, flags).putInt(at + 12, 0)
                .putLong(at + 16, s.isEnabled() ? s.size() : 0);
    }

    /** The name's bytes for prctl(PR_SET_NAME), without the NUL. */
    private static byte[] nameBytes(String comm) {
        return comm.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code n} rounded up to a multiple of 8 (each argument starts aligned). */
    private static int aligned(int n) {
        return (n + 7) & -8;
    }
}
