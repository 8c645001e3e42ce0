package io.lazymig.restore;

import io.lazymig.images.FileLock;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Syscalls;
import java.io.IOException;

/**
 * Takes a flock lock again, by flock(fd, LOCK_EX or LOCK_SH | LOCK_NB) injected into the process
 * on the fd it was held through (or the fd a mapping of the file is made from, before it is
 * closed). A lock another process holds here is an error naming the file: the restored process
 * would otherwise run without the lock it had.
 */
final class FlockInjection {
    private FlockInjection() {
    }

    static void take(Injector in, long fd, FileLock lock) throws IOException {
        long op = (lock.exclusive() ? Syscalls.LOCK_EX : Syscalls.LOCK_SH) | Syscalls.LOCK_NB;
        long rc = in.raw(Syscalls.FLOCK, fd, op);
        if (Syscalls.isError(rc)) {
            int errno = Syscalls.errno(rc);
            throw new RestoreException("cannot take the " + lock + " again: " + Errno.name(errno) + " ("
                    + Errno.text(errno) + ")" + (errno == Errno.EAGAIN ? "; another process holds it on this host" : ""));
        }
    }
}
