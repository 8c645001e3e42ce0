package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.FileObject;
import io.lazymig.images.Pipe;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's --inherit-fd list, and the external pipe ends of the checkpoint connected by it: an
 * fd of restore's own is taken into the process with pidfd_getfd (the same open file: a dup across
 * processes, as CRIU's --inherit-fd does), a path is opened in the process with the end's access mode.
 */
final class InheritedFds {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");
    /** The mode of a file a write end's path creates (the process's umask applies). */
    static final int MODE = 0644;

    private final List<InheritFd> list;

    InheritedFds(List<InheritFd> list) {
        this.list = List.copyOf(list);
    }

    /**
     * Refuses, before anything starts, a checkpoint with an external end the list does not connect,
     * or an fd[N] restore was not started with; warns about entries that connect nothing.
     */
    void check(Checkpoint cp) throws RestoreException {
        for (InheritFd i : list) {
            if (i.isFd() && !i.fdIsOpen()) {
                throw new RestoreException("--inherit-fd " + i + ": restore has no fd " + i.fd());
            }
        }
        for (FileObject f : cp.files()) {
            if (f instanceof Pipe p && p.external() && find(p.resource()) == null) {
                String fds = cp.root().fds().stream().filter(s -> s.fileId() == p.id()).map(s -> "fd " + s.fd())
                        .reduce((a, b) -> a + ", " + b).orElse("no fd");
                throw new RestoreException("process " + cp.root().pid() + " " + fds + " is the external " + p.describe()
                        + ": restore with --inherit-fd 'fd[N]:" + p.resource() + "' (an fd restore is started with) or "
                        + "--inherit-fd 'PATH:" + p.resource() + "' to say what it becomes here");
            }
        }
        for (InheritFd i : list) {
            boolean used = cp.files().stream().anyMatch(f -> f instanceof Pipe p && p.external()
                    && p.resource().equals(i.resource()));
            if (!used) {
                log.warn("restore: --inherit-fd {}: the checkpoint has no external {}", i, i.resource());
            }
        }
    }

    private InheritFd find(String resource) {
        return list.stream().filter(i -> i.resource().equals(resource)).findFirst().orElse(null);
    }

    /** The external end {@code p} for slot {@code fd}, opened in the process as the list says. */
    long open(Injector in, Pipe p, int fd) throws IOException {
        InheritFd i = find(p.resource());
        if (i == null) {
            throw new RestoreException("fd " + fd + " is the external " + p.describe() + " and no --inherit-fd names it");
        }
        String what = "fd " + fd + " (" + p.describe() + ") from --inherit-fd " + i;
        if (i.isFd()) {
            long pidfd = in.call("pidfd_open(restore)", Syscalls.PIDFD_OPEN, ProcessHandle.current().pid(), 0);
            long got = in.raw(Syscalls.PIDFD_GETFD, pidfd, i.fd(), 0);
            in.raw(Syscalls.CLOSE, pidfd);
            if (Syscalls.isError(got)) {
                throw new RestoreException("cannot take " + what + ": " + Errno.name(Syscalls.errno(got)));
            }
            return got;
        }
        int flags = p.isWriteEnd() ? FileDescriptor.O_WRONLY | FileDescriptor.O_CREAT | FileDescriptor.O_APPEND
                : FileDescriptor.O_RDONLY;
        in.resetScratch();
        long path = in.putString(i.path());
        long got = in.raw(Syscalls.OPENAT, Syscalls.AT_FDCWD, path, flags | FileDescriptor.O_NONBLOCK, MODE);
        if (Syscalls.isError(got)) {
            int errno = Syscalls.errno(got);
            throw new RestoreException("cannot open " + what + ": " + Errno.name(errno)
                    + (errno == Errno.ENXIO ? " (a FIFO without a reader)" : ""));
        }
        if ((p.flags() & FileDescriptor.O_NONBLOCK) == 0) {
            in.call("fcntl(F_SETFL)", Syscalls.FCNTL, got, Syscalls.F_SETFL, flags & FileDescriptor.O_APPEND);
        }
        return got;
    }
}
