package io.lazymig.dump;

import io.lazymig.images.IntervalTimer;
import io.lazymig.images.SigAction;
import io.lazymig.images.SigAltStack;
import io.lazymig.images.ThreadState;
import io.lazymig.jni.Errno;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.SyscallInjector;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * What only the task itself can tell, asked by syscalls injected into it while frozen: brk(0),
 * each signal's action by rt_sigaction(sig, NULL, &old), each thread's clear_child_tid and
 * alternate signal stack, and the timers (getitimer, timer_gettime, timer_getoverrun). A scratch
 * page mapped for the answers is unmapped again before the VMAs are read, so the dump sees the
 * layout as it was. None of these syscalls takes or queues a signal (every frozen thread blocks
 * them all), so the pending queues stay as they were.
 */
final class Injections implements AutoCloseable {
    /** struct kernel_sigaction on x86_64: handler, flags, restorer, mask (8 bytes each). */
    private static final int KERNEL_SIGACTION_SIZE = 32;

    private final SyscallInjector injector;
    private final long scratch;
    private final long pageSize = SystemInfo.PAGE_SIZE;
    private final ByteBuffer answer = ByteBuffer.allocateDirect(KERNEL_SIGACTION_SIZE).order(ByteOrder.nativeOrder());

    private Injections(SyscallInjector injector, long scratch) {
        this.injector = injector;
        this.scratch = scratch;
    }

    static Injections open(int pid) throws IOException {
        SyscallInjector inj = new SyscallInjector(pid, SyscallInjector.findSyscallInstruction(pid));
        long scratch = inj.inject(Syscalls.MMAP, 0, SystemInfo.PAGE_SIZE, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0);
        if (Syscalls.isError(scratch)) {
            throw new DumpException("injected mmap of a scratch page failed: " + Errno.name(Syscalls.errno(scratch)));
        }
        return new Injections(inj, scratch);
    }

    /** The program break, by brk(0) (it is not in /proc/PID/stat). */
    long brk() throws IOException {
        return check("brk(0)", injector.inject(Syscalls.BRK, 0));
    }

    /**
     * The clear_child_tid address of thread {@code tid} (glibc's {@code pthread->tid}), by
     * prctl(PR_GET_TID_ADDRESS) injected into that thread: it acts on the caller only. The
     * thread shares the leader's address space, so the scratch page and the syscall instruction
     * serve it too; its registers are set back at the resume like every thread's.
     */
    private long clearTidAddress(int tid) throws IOException {
        SyscallInjector inThread = inThread(tid);
        check("prctl(PR_GET_TID_ADDRESS) in thread " + tid, inThread.inject(Syscalls.PRCTL,
                SystemInfo.PR_GET_TID_ADDRESS, scratch, 0, 0, 0));
        answer.clear();
        ProcessMemory.read(injector.pid(), scratch, answer);
        return answer.getLong(0);
    }

    /**
     * The alternate signal stack of thread {@code tid}, by sigaltstack(NULL, &old) injected into
     * it: the stack_t (ss_sp, ss_flags, ss_size at 0, 8, 16) with the flags the kernel reports.
     * The injection leaves the thread's stack pointer as it was, so SS_ONSTACK says whether the
     * thread was running on its alternate stack at the freeze.
     */
    SigAltStack altStack(int tid) throws IOException {
        check("sigaltstack(NULL, &old) in thread " + tid, inThread(tid).inject(Syscalls.SIGALTSTACK, 0, scratch));
        answer.clear();
        ProcessMemory.read(injector.pid(), scratch, answer);
        try {
            return new SigAltStack(answer.getLong(0), answer.getLong(16), answer.getInt(8));
        } catch (IllegalArgumentException e) {
            throw new DumpException("thread " + tid + ": " + e.getMessage(), e);
        }
    }

    /** {@code t} with its clear_child_tid and alternate signal stack, asked from the thread itself. */
    ThreadState askThread(ThreadState t) throws IOException {
        return t.withInjected(clearTidAddress(t.tid()), altStack(t.tid()));
    }

    private SyscallInjector inThread(int tid) {
        return tid == injector.pid() ? injector : new SyscallInjector(tid, injector.syscallAddress());
    }

    /** The non-default signal actions, 1..64 except SIGKILL and SIGSTOP. */
    List<SigAction> signalActions() throws IOException {
        List<SigAction> out = new ArrayList<>();
        for (int sig = 1; sig <= SigAction.SIGMAX; sig++) {
            if (!SigAction.isDumpable(sig)) {
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
     * Up to {@code max} bytes at the head of socket {@code fd}'s receive queue, read with
     * recvfrom(MSG_PEEK | MSG_DONTWAIT) at peek offset {@code off} (SO_PEEK_OFF set first when
     * non-zero), so nothing is consumed; an empty queue gives an empty array. Uses a mapping of
     * its own of {@code max} bytes, unmapped after.
     */
    byte[] peek(int fd, int max, int peekFlags) throws IOException {
        long buf = check("mmap(peek buffer)", injector.inject(Syscalls.MMAP, 0, max, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0));
        try {
            long n = injector.inject(Syscalls.RECVFROM, fd, buf, max, peekFlags, 0, 0);
            if (Syscalls.isError(n)) {
                if (Syscalls.errno(n) == Errno.EAGAIN) {
                    return new byte[0];
                }
                throw new DumpException("injected recvfrom(" + fd + ", MSG_PEEK) failed: " + Errno.name(Syscalls.errno(n)));
            }
            ByteBuffer data = ByteBuffer.allocateDirect((int) Math.min(n, max));
            ProcessMemory.read(injector.pid(), buf, data);
            byte[] out = new byte[data.capacity()];
            data.get(0, out);
            return out;
        } finally {
            check("munmap(peek buffer)", injector.inject(Syscalls.MUNMAP, buf, max));
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
        check("munmap(scratch)", injector.inject(Syscalls.MUNMAP, scratch, pageSize));
    }

    private static long check(String what, long rc) throws DumpException {
        if (Syscalls.isError(rc)) {
            throw new DumpException("injected " + what + " failed: " + Errno.name(Syscalls.errno(rc)));
        }
        return rc;
    }
}
