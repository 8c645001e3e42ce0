package io.lazymig.restore;

import io.lazymig.images.Eventfd;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Syscalls;
import java.io.IOException;

/**
 * An eventfd: eventfd2 with its counter (a counter above eventfd2's 32-bit initial value is written
 * to it), EFD_SEMAPHORE and O_NONBLOCK as at dump.
 */
final class EventfdOpener implements FileOpener<Eventfd> {
    private static final long MAX_INITVAL = 0xffffffffL;

    @Override
    public Class<Eventfd> kind() {
        return Eventfd.class;
    }

    @Override
    public long open(Injector in, Eventfd file, int fd, ParkedStdio stdio) throws IOException {
        int flags = (file.flags() & FileDescriptor.O_NONBLOCK) | (file.semaphore() ? Syscalls.EFD_SEMAPHORE : 0);
        boolean fits = Long.compareUnsigned(file.counter(), MAX_INITVAL) <= 0;
        long got = in.call("eventfd2 for fd " + fd, Syscalls.EVENTFD2, fits ? file.counter() : 0, flags);
        if (!fits) {
            in.resetScratch();
            long at = in.put(Stub.struct(8).putLong(0, file.counter()));
            long n = in.call("write(eventfd counter) for fd " + fd, Syscalls.WRITE, got, at, 8);
            if (n != 8) {
                throw new RestoreException("fd " + fd + " (eventfd): the counter took " + n + " of 8 bytes");
            }
        }
        return got;
    }

    @Override
    public long position(Eventfd file) {
        return -1;
    }
}
