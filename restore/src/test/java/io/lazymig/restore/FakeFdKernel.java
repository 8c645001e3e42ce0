package io.lazymig.restore;

import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A model of the kernel's fd table for the syscalls fd-table restore injects (openat, fcntl
 * F_DUPFD/F_SETFD/F_SETFL, dup2, close, lseek; eventfd2 and write to it, signalfd4, timerfd_create,
 * epoll_create1 and epoll_ctl, inotify_init1, inotify_add_watch, inotify_rm_watch and read), with the
 * kernel's rules for them: lowest free fd, dup2 sharing one open file description, EBADF on a closed
 * fd, ENOENT for a path that does not exist, EPOLL_CTL_ADD only on an epoll and an open fd, inotify
 * descriptors counted up from 1 with an IN_IGNORED event (16 bytes) queued by each removal. Any other
 * syscall fails the test.
 */
final class FakeFdKernel implements Injector {
    static final int ENOENT = 2;
    static final int EBADF = 9;

    /** One open file description: what was opened, how, and its offset. */
    static final class Description {
        final String path;
        int flags;
        long pos;
        /** An eventfd's counter; an epoll's watches (fd, events, data); an inotify's watches (wd to path). */
        long counter;
        final Map<Integer, String> epollWatches = new TreeMap<>();
        final Map<Long, String> inotifyWatches = new TreeMap<>();
        long nextWd = 1;
        int queuedBytes;

        Description(String path, int flags) {
            this.path = path;
            this.flags = flags;
        }

        @Override
        public String toString() {
            return path + " flags 0" + Integer.toOctalString(flags) + " pos " + pos;
        }
    }

    /** An fd: its description and close-on-exec flag. */
    record Fd(Description file, boolean cloexec) {
    }

    final TreeMap<Integer, Fd> fds = new TreeMap<>();
    final List<String> existing = new ArrayList<>();
    private final Map<Long, String> strings = new HashMap<>();
    private final Map<Long, ByteBuffer> structs = new HashMap<>();
    /** RLIMIT_NOFILE as prlimit64 sets it: F_DUPFD at or above the soft limit is EINVAL, as the kernel's. */
    long nofileCur = Long.MAX_VALUE;
    long nofileMax = Long.MAX_VALUE;
    /** Every RLIMIT_NOFILE set, "cur/max". */
    final List<String> nofileSets = new ArrayList<>();
    static final int EINVAL = 22;
    /** Every syscall injected, by name where the model knows it, in order. */
    final List<String> calls = new ArrayList<>();
    private long nextAddress = 0x10000;
    int injected;

    /** A process whose fds 0..2 are restore's stdio (as the spawned stub inherits them). */
    static FakeFdKernel withStdio() {
        FakeFdKernel k = new FakeFdKernel();
        k.fds.put(0, new Fd(new Description("restore-stdin", 0), false));
        Description out = new Description("restore-stdout", 1);
        k.fds.put(1, new Fd(out, false));
        k.fds.put(2, new Fd(out, false));
        return k;
    }

    @Override
    public int pid() {
        return 4242;
    }

    @Override
    public long call(String name, int nr, long... args) throws IOException {
        long rc = raw(nr, args);
        if (Syscalls.isError(rc)) {
            throw new RestoreException("injected " + name + " failed: errno " + Syscalls.errno(rc));
        }
        return rc;
    }

    @Override
    public long raw(int nr, long... args) {
        injected++;
        if (nr == Syscalls.OPENAT) {
            String path = strings.get(args[1]);
            if (args[0] != Syscalls.AT_FDCWD || path == null) {
                throw new AssertionError("openat without AT_FDCWD and a string from putString");
            }
            if (!existing.contains(path)) {
                return -ENOENT;
            }
            return install(lowestFree(0), new Fd(new Description(path, (int) args[2]), false));
        }
        Long event = eventFds(nr, args);
        if (event != null) {
            return event;
        }
        if (nr == Syscalls.FCNTL) {
            Fd fd = fds.get((int) args[0]);
            if (fd == null) {
                return -EBADF;
            }
            if (args[1] == Syscalls.F_SETFL) {
                fd.file().flags = (int) args[2];
                return 0;
            }
            if (args[1] == Syscalls.F_DUPFD) {
                if (args[2] >= nofileCur) {
                    return -EINVAL;
                }
                return install(lowestFree((int) args[2]), new Fd(fd.file(), false));
            }
            if (args[1] == Syscalls.F_SETFD) {
                fds.put((int) args[0], new Fd(fd.file(), (args[2] & Syscalls.FD_CLOEXEC) != 0));
                return 0;
            }
            throw new AssertionError("fcntl command " + args[1]);
        }
        if (nr == Syscalls.DUP2) {
            Fd fd = fds.get((int) args[0]);
            if (fd == null) {
                return -EBADF;
            }
            if (args[0] != args[1]) {
                fds.put((int) args[1], new Fd(fd.file(), false));
            }
            return args[1];
        }
        if (nr == Syscalls.PRLIMIT64) {
            if (args[0] != 0 || args[1] != ParkedStdio.RLIMIT_NOFILE || args[3] != 0) {
                throw new AssertionError("prlimit64 other than setting the own RLIMIT_NOFILE");
            }
            ByteBuffer lim = structs.get(args[2]);
            long cur = lim.getLong(0);
            long max = lim.getLong(8);
            if (max > nofileMax) {
                return -1; // EPERM: not raised beyond the hard limit
            }
            nofileCur = cur;
            nofileMax = max;
            nofileSets.add(cur + "/" + max);
            return 0;
        }
        if (nr == Syscalls.CLOSE) {
            return fds.remove((int) args[0]) == null ? -EBADF : 0;
        }
        if (nr == Syscalls.LSEEK) {
            Fd fd = fds.get((int) args[0]);
            if (fd == null) {
                return -EBADF;
            }
            if (args[2] != Syscalls.SEEK_SET) {
                throw new AssertionError("lseek whence " + args[2]);
            }
            fd.file().pos = args[1];
            return args[1];
        }
        throw new AssertionError("unexpected syscall " + nr);
    }

    /** The event-fd syscalls, or null for another. */
    private Long eventFds(int nr, long... args) {
        if (nr == Syscalls.EVENTFD2) {
            calls.add("eventfd2");
            Description d = new Description("anon_inode:[eventfd]", (int) args[1]);
            d.counter = args[0];
            return install(lowestFree(0), new Fd(d, false));
        }
        if (nr == Syscalls.WRITE) {
            Fd fd = fds.get((int) args[0]);
            if (fd == null || !fd.file().path.equals("anon_inode:[eventfd]") || args[2] != 8) {
                throw new AssertionError("write other than 8 bytes to an eventfd");
            }
            fd.file().counter += structs.get(args[1]).getLong(0);
            return 8L;
        }
        if (nr == Syscalls.SIGNALFD4 || nr == Syscalls.TIMERFD_CREATE || nr == Syscalls.EPOLL_CREATE1
                || nr == Syscalls.INOTIFY_INIT1) {
            String kind = nr == Syscalls.SIGNALFD4 ? "[signalfd]" : nr == Syscalls.TIMERFD_CREATE ? "[timerfd]"
                    : nr == Syscalls.EPOLL_CREATE1 ? "[eventpoll]" : "inotify";
            calls.add("create " + kind);
            int flags = (int) (nr == Syscalls.SIGNALFD4 ? args[3] : nr == Syscalls.TIMERFD_CREATE ? args[1] : args[0]);
            return install(lowestFree(0), new Fd(new Description("anon_inode:" + kind, flags), false));
        }
        if (nr == Syscalls.EPOLL_CTL) {
            Fd ep = fds.get((int) args[0]);
            Fd target = fds.get((int) args[2]);
            if (ep == null || target == null) {
                return (long) -EBADF;
            }
            if (!ep.file().path.equals("anon_inode:[eventpoll]") || args[1] != Syscalls.EPOLL_CTL_ADD) {
                throw new AssertionError("epoll_ctl on " + ep.file() + " op " + args[1]);
            }
            ByteBuffer ev = structs.get(args[3]);
            calls.add("epoll_ctl " + args[0] + " " + args[2]);
            ep.file().epollWatches.put((int) args[2], Integer.toHexString(ev.getInt(0)) + ":" + Long.toHexString(ev.getLong(4)));
            return 0L;
        }
        if (nr == Syscalls.INOTIFY_ADD_WATCH || nr == Syscalls.INOTIFY_RM_WATCH) {
            Fd in = fds.get((int) args[0]);
            if (in == null || !in.file().path.equals("anon_inode:inotify")) {
                return (long) -EBADF;
            }
            Description d = in.file();
            if (nr == Syscalls.INOTIFY_RM_WATCH) {
                d.queuedBytes += 16;
                return d.inotifyWatches.remove(args[1]) == null ? -22L : 0L;
            }
            String path = strings.get(args[1]);
            if (!existing.contains(path)) {
                return (long) -ENOENT;
            }
            long wd = d.nextWd++;
            d.inotifyWatches.put(wd, path + " mask " + Long.toHexString(args[2]));
            return wd;
        }
        if (nr == Syscalls.READ) {
            Fd in = fds.get((int) args[0]);
            if (in == null || !in.file().path.equals("anon_inode:inotify")) {
                throw new AssertionError("read of " + in);
            }
            int n = Math.min(in.file().queuedBytes, (int) args[2] / 16 * 16);
            in.file().queuedBytes -= n;
            return n == 0 ? -11L : n;
        }
        return null;
    }

    @Override
    public void resetScratch() {
        // strings stay readable: nothing reads a stale one, and a real scratch area would hold it too
    }

    @Override
    public long putString(String s) {
        long at = nextAddress;
        nextAddress += 0x1000;
        strings.put(at, s);
        return at;
    }

    @Override
    public long put(ByteBuffer buf) {
        long at = nextAddress;
        nextAddress += 0x1000;
        ByteBuffer copy = ByteBuffer.allocate(buf.remaining()).order(buf.order());
        copy.put(buf.duplicate()).flip();
        structs.put(at, copy);
        return at;
    }

    @Override
    public void read(long address, ByteBuffer dst) {
        throw new AssertionError("fd-table restore reads no memory");
    }

    private long install(int fd, Fd f) {
        fds.put(fd, f);
        return fd;
    }

    private int lowestFree(int from) {
        int fd = from;
        while (fds.containsKey(fd)) {
            fd++;
        }
        return fd;
    }
}
