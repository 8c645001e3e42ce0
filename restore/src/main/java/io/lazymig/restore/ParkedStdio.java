package io.lazymig.restore;

import io.lazymig.images.Rlimit;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The parking area: fds of the process being restored that restore itself holds while it rebuilds
 * the fd table, all above the checkpoint's highest fd so that none of them takes, or is taken by, a
 * slot being rebuilt. It holds restore's own stdio (which the stub inherited as fds 0..2; a terminal
 * of the checkpoint becomes a copy of one of them, CRIU's --shell-job) and the pipes and FIFOs
 * created for the checkpoint (each end a slot asks for is opened anew from them, so that every end
 * gets its own open file description and flags). Everything parked is closed once the fd table is
 * rebuilt.
 *
 * <p>The area must fit under the process's RLIMIT_NOFILE, already the checkpoint's here: its soft
 * limit is raised up to the hard one for the while if need be; beyond the hard limit restore refuses.
 */
final class ParkedStdio {
    /** RLIMIT_NOFILE's resource number. */
    static final int RLIMIT_NOFILE = 7;

    private final long[] fds;
    private final int base;
    private final int end;
    /** The checkpoint's RLIMIT_NOFILE when its soft limit was raised for the area, to put back; else null. */
    private final Rlimit raised;
    private int next;
    private final Map<Object, long[]> pipes = new HashMap<>();
    private final List<Long> parked = new ArrayList<>();

    private final InheritedFds inherited;
    private final SharedFiles shared;

    private ParkedStdio(long[] fds, int base, int end, Rlimit raised, InheritedFds inherited, SharedFiles shared) {
        this.inherited = inherited;
        this.shared = shared;
        this.fds = fds;
        this.base = base;
        this.end = end;
        this.raised = raised;
        this.next = base + fds.length;
    }

    /**
     * Moves fds 0..2 just above {@code highestFd} (a missing one stays missing: -errno), leaving room
     * for {@code more} fds after them, under {@code nofile}, the process's RLIMIT_NOFILE.
     */
    static ParkedStdio park(Injector in, int highestFd, int more, Rlimit nofile, InheritedFds inherited,
            SharedFiles shared) throws IOException {
        int base = Math.max(highestFd + 1, 3);
        int end = base + 3 + more; // one past the last fd of the area
        Rlimit raised = null;
        if (nofile != null && Long.compareUnsigned(nofile.cur(), end) < 0) {
            if (Long.compareUnsigned(nofile.max(), end) < 0) {
                throw new RestoreException("process " + in.pid() + ": its highest fd is " + highestFd
                        + " and its RLIMIT_NOFILE hard limit " + Long.toUnsignedString(nofile.max())
                        + ": no room above its fds for the " + (end - base) + " restore needs while it rebuilds them");
            }
            raised = nofile;
            setNofile(in, end, nofile.max());
        }
        // in one run (one stop, not six injections: a tree's processes one after another paid them all)
        List<SyscallRun.Call> moves = new ArrayList<>(6);
        for (int i = 0; i < 3; i++) {
            moves.add(new SyscallRun.Call(Syscalls.FCNTL, i, Syscalls.F_DUPFD, base + i));
            moves.add(new SyscallRun.Call(Syscalls.CLOSE, i));
        }
        in.resetScratch();
        long[] rcs = in.runEvery(moves);
        long[] fds = {rcs[0], rcs[2], rcs[4]};
        return new ParkedStdio(fds, base, end, raised, inherited, shared);
    }

    /** The parked copy of stdio fd {@code fd} (fds above 2 use stderr), else any parked one; -1 when none. */
    long forFd(int fd) {
        long src = fds[Math.min(fd, 2)];
        if (!Syscalls.isError(src)) {
            return src;
        }
        for (long p : fds) {
            if (!Syscalls.isError(p)) {
                return p;
            }
        }
        return -1;
    }

    /** What the external ends of the checkpoint become (restore --inherit-fd). */
    InheritedFds inherited() {
        return inherited;
    }

    /** The pipes and files of the whole tree restored so far (a pipe another process made is taken from it). */
    SharedFiles shared() {
        return shared;
    }

    /**
     * Moves {@code fd} into the area (closing it where it was) and returns its parked number; an fd
     * the kernel gave inside the area already stays where it is (the next move skips it).
     */
    long park(Injector in, long fd) throws IOException {
        if (fd >= base + fds.length && fd < end) {
            // already in the area: a pipe2() made while the slots below are full returns a free fd of it
            parked.add(fd);
            return fd;
        }
        if (next >= end) {
            throw new IllegalStateException("the parking area of " + (end - base) + " fds is full");
        }
        long at = in.call("fcntl(F_DUPFD " + next + ")", Syscalls.FCNTL, fd, Syscalls.F_DUPFD, next);
        in.call("close", Syscalls.CLOSE, fd);
        next = (int) at + 1;
        parked.add(at);
        return at;
    }

    /** The parked fds of the pipe (or FIFO) {@code key}, as {@link #keep} left them, or null. */
    long[] pipe(Object key) {
        return pipes.get(key);
    }

    void keep(Object key, long[] parkedFds) {
        pipes.put(key, parkedFds);
    }

    void close(Injector in) throws IOException {
        List<SyscallRun.Call> closes = new ArrayList<>();
        for (long p : fds) {
            if (!Syscalls.isError(p)) {
                closes.add(new SyscallRun.Call(Syscalls.CLOSE, p));
            }
        }
        for (long p : parked) {
            closes.add(new SyscallRun.Call(Syscalls.CLOSE, p));
        }
        in.resetScratch(); // nothing put there is needed any more
        in.runEvery(closes); // in one run; an error (an fd gone already) is no matter, as before
        if (raised != null) {
            setNofile(in, raised.cur(), raised.max());
        }
    }

    private static void setNofile(Injector in, long cur, long max) throws IOException {
        in.resetScratch();
        ByteBuffer lim = Stub.struct(16).putLong(0, cur).putLong(8, max);
        long rc = in.raw(Syscalls.PRLIMIT64, 0, RLIMIT_NOFILE, in.put(lim), 0);
        if (Syscalls.isError(rc)) {
            throw new RestoreException("process " + in.pid() + ": cannot set RLIMIT_NOFILE to "
                    + Long.toUnsignedString(cur) + ": " + Errno.name(Syscalls.errno(rc)));
        }
    }
}
