package io.lazymig.restore;

import io.lazymig.images.Fifo;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Syscalls;
import java.io.IOException;

/**
 * A FIFO: made with mkfifo where its path is missing (with its mode, less the process's umask), held open O_RDWR in the parking area (which
 * never blocks, and keeps the FIFO's buffer alive) while its size is set and its bytes put back once,
 * (in the first process of the tree that opens it; later ones hold it O_RDWR meanwhile, without
 * putting its bytes back again), then opened by path with its flags (non-blocking, so an open for writing without a reader or for
 * reading without a writer cannot hang restore; the flag is cleared after when it was not set).
 */
final class FifoOpener implements FileOpener<Fifo> {
    @Override
    public Class<Fifo> kind() {
        return Fifo.class;
    }

    @Override
    public long open(Injector in, Fifo file, int fd, ParkedStdio parking) throws IOException {
        String key = key(file);
        String what = "fd " + fd + " (" + file.describe() + ")";
        if (parking.pipe(key) == null && parking.shared().pipeElsewhere(key, in.pid()) != null) {
            // an earlier process of the tree holds it, bytes and all: only held open here meanwhile
            long helper = PathOpener.open(in, file.path(), FileDescriptor.O_RDWR | FileDescriptor.O_NONBLOCK, fd);
            parking.keep(key, new long[] {parking.park(in, helper)});
        } else if (parking.pipe(key) == null) {
            in.resetScratch();
            long path = in.putString(file.path());
            long rc = in.raw(Syscalls.MKNODAT, Syscalls.AT_FDCWD, path, Syscalls.S_IFIFO | file.mode(), 0);
            if (Syscalls.isError(rc) && Syscalls.errno(rc) != Errno.EEXIST) {
                throw new RestoreException("cannot make " + what + ": " + Errno.name(Syscalls.errno(rc)));
            }
            long helper = PathOpener.open(in, file.path(), FileDescriptor.O_RDWR | FileDescriptor.O_NONBLOCK, fd);
            long parked = parking.park(in, helper);
            PipeOpener.fill(in, parked, file.buffer(), what);
            parking.keep(key, new long[] {parked});
        }
        long got = PathOpener.open(in, file.path(), file.flags() | FileDescriptor.O_NONBLOCK, fd);
        if ((file.flags() & FileDescriptor.O_NONBLOCK) == 0) {
            in.call("fcntl(F_SETFL)", Syscalls.FCNTL, got, Syscalls.F_SETFL, file.flags() & ~FileDescriptor.O_ACCMODE
                    & ~FileDescriptor.O_NONBLOCK);
        }
        return got;
    }

    static String key(Fifo file) {
        return "fifo:" + file.path();
    }

    @Override
    public long position(Fifo file) {
        return -1;
    }
}
