package io.lazymig.restore;

import io.lazymig.images.Pipe;
import io.lazymig.images.PipeBuffer;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One end of a pipe. The pipe is made once per restore, for the whole tree ({@code pipe2} in the
 * first process that holds an end, both ends parked), its size set and its bytes put back; each end
 * a slot asks for is then opened anew from the parked one through /proc/PID/fd (a new open file
 * description of the same pipe, with the end's own flags). A later process of the tree holding an
 * end takes the pipe from a process that has it already ({@link SharedFiles#pipeElsewhere}: any of
 * its fds of that pipe, by pidfd_getfd, parked), so its bytes are neither lost nor put back twice.
 * An end no slot of any process asks for is closed with the parking area: the reader of a pipe
 * whose writers were gone at dump reads its bytes, then EOF.
 * An external end becomes what --inherit-fd names ({@link InheritedFds}).
 */
final class PipeOpener implements FileOpener<Pipe> {
    @Override
    public Class<Pipe> kind() {
        return Pipe.class;
    }

    @Override
    public long open(Injector in, Pipe file, int fd, ParkedStdio parking) throws IOException {
        if (file.external()) {
            return parking.inherited().open(in, file, fd);
        }
        long[] ends = parking.pipe(file.resource());
        if (ends == null) {
            SharedFiles.Owner elsewhere = parking.shared().pipeElsewhere(file.resource(), in.pid());
            if (elsewhere != null) {
                // an anonymous pipe reopened through /proc opens either end, whichever end this fd is
                long taken = parking.park(in, SharedFiles.take(in, elsewhere, "fd " + fd + " (" + file.describe() + ")"));
                ends = new long[] {taken, taken};
            } else {
                ends = create(in, file, parking);
            }
            parking.keep(file.resource(), ends);
        }
        long parked = file.isWriteEnd() ? ends[1] : ends[0];
        return reopen(in, parked, file.flags(), "fd " + fd + " (" + file.describe() + ")");
    }

    /** The key of the pipe or FIFO {@code f} is an end of, across the tree; null for other kinds and external pipes. */
    static Object key(io.lazymig.images.FileObject f) {
        if (f instanceof Pipe p) {
            return p.external() ? null : p.resource();
        }
        if (f instanceof io.lazymig.images.Fifo ff) {
            return FifoOpener.key(ff);
        }
        return null;
    }

    /** A new open file description of the pipe or FIFO behind parked fd {@code parked}, with {@code flags}. */
    static long reopen(Injector in, long parked, int flags, String what) throws IOException {
        in.resetScratch();
        long path = in.putString("/proc/self/fd/" + parked);
        long got = in.raw(Syscalls.OPENAT, Syscalls.AT_FDCWD, path, flags & ~FileDescriptor.O_CLOEXEC, 0);
        if (Syscalls.isError(got)) {
            throw new RestoreException("cannot open " + what + " again: " + io.lazymig.jni.Errno.name(Syscalls.errno(got)));
        }
        return got;
    }

    private static long[] create(Injector in, Pipe file, ParkedStdio parking) throws IOException {
        in.resetScratch();
        long at = in.put(ByteBuffer.allocateDirect(8));
        in.call("pipe2", Syscalls.PIPE2, at, 0);
        ByteBuffer two = ByteBuffer.allocateDirect(8).order(java.nio.ByteOrder.nativeOrder());
        in.read(at, two);
        long r = parking.park(in, two.getInt(0));
        long w = parking.park(in, two.getInt(4));
        fill(in, w, file.buffer(), file.describe());
        return new long[] {r, w};
    }

    /**
     * Sets the buffer's size and puts its bytes back through {@code writeFd}, a write end (or an
     * O_RDWR FIFO) parked in the process: restore opens it through /proc and writes them itself.
     */
    static void fill(Injector in, long writeFd, PipeBuffer b, String what) throws IOException {
        if (b.size() != 0) {
            long rc = in.raw(Syscalls.FCNTL, writeFd, Syscalls.F_SETPIPE_SZ, b.size());
            if (Syscalls.isError(rc)) {
                throw new RestoreException("cannot set the buffer size of " + what + " to " + b.size() + ": "
                        + io.lazymig.jni.Errno.name(Syscalls.errno(rc)));
            }
        }
        if (b.length() == 0) {
            return;
        }
        String proc = "/proc/" + in.pid() + "/fd/" + writeFd;
        try (FileDescriptor out = FileDescriptor.open(proc, FileDescriptor.O_WRONLY | FileDescriptor.O_NONBLOCK, 0)) {
            ByteBuffer data = ByteBuffer.allocateDirect(b.length());
            data.put(b.bytes()).flip();
            while (data.hasRemaining()) {
                out.write(data);
            }
        } catch (io.lazymig.jni.NativeException e) {
            throw new RestoreException("cannot put the " + b.length() + " bytes of " + what + " back: " + e.getMessage(), e);
        }
    }

    @Override
    public long position(Pipe file) {
        return -1;
    }
}
