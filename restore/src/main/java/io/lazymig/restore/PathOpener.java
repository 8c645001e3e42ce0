package io.lazymig.restore;

import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Syscalls;
import java.io.IOException;

/** Reopens a file by path in the process being restored, with its open flags minus the ones that would change it. */
final class PathOpener {
    private PathOpener() {
    }

    static long open(Injector in, String path, int flags, int fd) throws IOException {
        int f = flags & ~(FileDescriptor.O_CREAT | FileDescriptor.O_TRUNC | FileDescriptor.O_EXCL);
        in.resetScratch();
        long at = in.putString(path);
        long got = in.raw(Syscalls.OPENAT, Syscalls.AT_FDCWD, at, f, 0);
        if (Syscalls.isError(got)) {
            throw new RestoreException("cannot reopen fd " + fd + " (" + path + "): "
                    + Errno.name(Syscalls.errno(got)) + " (" + Errno.text(Syscalls.errno(got)) + ")");
        }
        return got;
    }
}
