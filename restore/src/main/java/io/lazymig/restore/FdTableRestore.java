package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.FdSlot;
import io.lazymig.images.FileLock;
import io.lazymig.images.Fifo;
import io.lazymig.images.FileObject;
import io.lazymig.images.Pipe;
import io.lazymig.images.Rlimit;
import io.lazymig.images.UnixSock;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Rebuilds one process's fd table: the first slot of each open file opens it (by its kind's
 * {@link FileOpener}) and puts back its offset; later slots of the same file dup that fd, so they
 * share one open file description (one offset) as at dump; a flock held through the fd is taken
 * again on it; once every fd is back, what some kinds still need (an epoll's watches, which name
 * other fds). A file an earlier process of the tree holds is taken from it instead
 * ({@link SharedFiles}). Restore's own stdio, and the pipes made for the process, are parked above
 * the highest fd meanwhile ({@link ParkedStdio}) and closed at the end, with anything else the stub had.
 */
final class FdTableRestore {
    private FdTableRestore() {
    }

    static void restore(Injector in, Checkpoint cp, List<FdSlot> slots) throws IOException {
        restore(in, cp, cp.root().pid(), slots, new SharedFiles(), new InheritedFds(List.of()), IpMap.NONE, null, null);
    }

    /**
     * The fd table {@code slots} of process {@code pid} of the checkpoint; a file an earlier
     * process of the tree restored is taken from it ({@link SharedFiles}), not opened again; sockets
     * are bound through {@code ipMap}; established TCP connections come back alive, held in
     * {@code held}, when it is not null (and they were dumped so), else closed.
     */
    static void restore(Injector in, Checkpoint cp, int pid, List<FdSlot> slots, SharedFiles shared,
            InheritedFds inherited, IpMap ipMap, HeldConnections held, ShmemObjects shmems) throws IOException {
        Set<Integer> here = new HashSet<>();
        for (FdSlot s : slots) {
            here.add(s.fileId());
        }
        FileOpeners openers = new FileOpeners(ipMap, held, cp.files(), here, shmems);
        int highest = -1;
        int pipes = 0;
        for (FdSlot s : slots) {
            highest = Math.max(highest, s.fd());
            FileObject f = cp.file(s.fileId());
            if (f instanceof Pipe || f instanceof Fifo) {
                pipes++;
            }
        }
        int inFlight = 0;
        for (FileObject f : cp.files()) {
            if (f instanceof UnixSock u) {
                inFlight += u.passedFiles().size();
            }
        }
        List<Rlimit> limits = cp.process(pid).orElse(cp.root()).state().rlimits();
        Rlimit nofile = limits.size() > ParkedStdio.RLIMIT_NOFILE ? limits.get(ParkedStdio.RLIMIT_NOFILE) : null;
        // room for both ends of every pipe (a FIFO parks one)
        // and for the files in flight in unix sockets' queues (parked while sent; a pipe's two ends too)
        ParkedStdio stdio = ParkedStdio.park(in, highest, 2 * pipes + 3 * inFlight, nofile, inherited, shared);
        Map<Integer, Integer> fdOfFile = new HashMap<>();
        for (FdSlot s : slots) {
            Integer first = fdOfFile.get(s.fileId());
            SharedFiles.Owner owner = shared.owner(s.fileId());
            if (first != null) {
                in.call("dup2(" + first + ", " + s.fd() + ")", Syscalls.DUP2, first, s.fd());
            } else if (owner != null) {
                long got = SharedFiles.take(in, owner, "fd " + s.fd() + " (" + cp.file(s.fileId()).describe() + ")");
                if (got != s.fd()) {
                    in.call("dup2", Syscalls.DUP2, got, s.fd());
                    in.call("close", Syscalls.CLOSE, got);
                }
                fdOfFile.put(s.fileId(), s.fd());
            } else {
                FileObject f = cp.file(s.fileId());
                long got = openers.openFile(in, f, s.fd(), stdio);
                if (got != s.fd()) {
                    in.call("dup2", Syscalls.DUP2, got, s.fd());
                    in.call("close", Syscalls.CLOSE, got);
                }
                seek(in, s.fd(), f);
                fdOfFile.put(s.fileId(), s.fd());
                shared.opened(s.fileId(), in.pid(), s.fd());
                Object pipe = PipeOpener.key(f);
                if (pipe != null) {
                    // a later process holding another end of this pipe takes it from here (its parked ends close below)
                    shared.pipeHeld(pipe, in.pid(), s.fd());
                }
                Optional<FileLock> lock = cp.fdLock(pid, s.fd());
                if (lock.isPresent()) {
                    FlockInjection.take(in, s.fd(), lock.get());
                }
            }
            in.call("fcntl(F_SETFD)", Syscalls.FCNTL, s.fd(), Syscalls.F_SETFD, s.closeOnExec() ? Syscalls.FD_CLOEXEC : 0);
        }
        for (Map.Entry<Integer, Integer> e : fdOfFile.entrySet()) {
            if (shared.owner(e.getKey()) == null || shared.owner(e.getKey()).pid() == in.pid()) {
                // a file taken from an earlier process was completed there (an epoll's watches are its own)
                FileOpeners.complete(in, cp.file(e.getKey()), e.getValue(), slots);
            }
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
