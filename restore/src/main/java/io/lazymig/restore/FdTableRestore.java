package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.FdSlot;
import io.lazymig.images.FileLock;
import io.lazymig.images.FileObject;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Rebuilds one process's fd table: the first slot of each open file opens it (by its kind's
 * {@link FileOpener}) and puts back its offset; later slots of the same file dup that fd, so they
 * share one open file description (one offset) as at dump; a flock held through the fd is taken
 * again on it. Restore's own stdio is parked above
 * the range meanwhile and closed at the end, with anything else the stub had.
 */
final class FdTableRestore {
    private FdTableRestore() {
    }

    static void restore(Injector in, Checkpoint cp, List<FdSlot> slots) throws IOException {
        restore(in, cp, slots, IpMap.NONE);
    }

    static void restore(Injector in, Checkpoint cp, List<FdSlot> slots, IpMap ipMap) throws IOException {
        FileOpeners openers = new FileOpeners(ipMap, cp.files());
        ParkedStdio stdio = ParkedStdio.park(in);
        Map<Integer, Integer> fdOfFile = new HashMap<>();
        for (FdSlot s : slots) {
            Integer first = fdOfFile.get(s.fileId());
            if (first != null) {
                in.call("dup2(" + first + ", " + s.fd() + ")", Syscalls.DUP2, first, s.fd());
            } else {
                FileObject f = cp.file(s.fileId());
                long got = openers.openFile(in, f, s.fd(), stdio);
                if (got != s.fd()) {
                    in.call("dup2", Syscalls.DUP2, got, s.fd());
                    in.call("close", Syscalls.CLOSE, got);
                }
                seek(in, s.fd(), f);
                fdOfFile.put(s.fileId(), s.fd());
                Optional<FileLock> lock = cp.fdLock(cp.root().pid(), s.fd());
                if (lock.isPresent()) {
                    FlockInjection.take(in, s.fd(), lock.get());
                }
            }
            in.call("fcntl(F_SETFD)", Syscalls.FCNTL, s.fd(), Syscalls.F_SETFD, s.closeOnExec() ? Syscalls.FD_CLOEXEC : 0);
        }
        stdio.close(in);
    }

    private static void seek(Injector in, int fd, FileObject f) throws IOException {
        long pos = FileOpeners.position(f);
        if (pos < 0) {
            return;
        }
        long rc = in.raw(Syscalls.LSEEK, fd, pos, Syscalls.SEEK_SET);
        if (Syscalls.isError(rc) && pos != 0) {
            throw new RestoreException("cannot seek fd " + fd + " (" + f.describe() + ") to " + pos + ": "
                    + Errno.name(Syscalls.errno(rc)));
        }
    }
}
