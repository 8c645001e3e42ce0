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
 * F_DUPFD/F_SETFD, dup2, close, lseek), with the kernel's rules for them: lowest free fd, dup2
 * sharing one open file description, EBADF on a closed fd, ENOENT for a path that does not exist.
 * Any other syscall fails the test.
 */
final class FakeFdKernel implements Injector {
    static final int ENOENT = 2;
    static final int EBADF = 9;

    /** One open file description: what was opened, how, and its offset. */
    static final class Description {
        final String path;
        final int flags;
        long pos;

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
        if (nr == Syscalls.FCNTL) {
            Fd fd = fds.get((int) args[0]);
            if (fd == null) {
                return -EBADF;
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
        ByteBuffer copy = ByteBuffer.allocate(buf.remaining()).order(java.nio.ByteOrder.nativeOrder());
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
