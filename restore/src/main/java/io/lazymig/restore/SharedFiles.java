package io.lazymig.restore;

import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Pidfd;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The open files of a tree restored so far, for the processes that share them (fds inherited
 * across fork: one open file description, one files.img entry): the first process that has a
 * file opens it (by its kind's opener, with its offset and flags); every later one takes that
 * very description from it, by pidfd_open + pidfd_getfd injected into itself, so offsets and
 * status flags stay shared as at dump. It works for any kind of file, pipes and sockets included,
 * as it never reopens anything. Owned by the restoring thread; the owners stay stopped (ptrace)
 * with their fd tables final until every process is rebuilt.
 *
 * <p>A file no earlier process holds in its fd table but one of them made (the far end of a unix
 * socketpair whose ends processes of the tree hold one each) is held by restore itself meanwhile
 * ({@link #hold}): the later process takes it from restore's own process the same way; restore's
 * copies are closed with this object, once the tree is rebuilt (or failed).
 */
final class SharedFiles implements AutoCloseable {
    /** Where a file already lives: the restored process (its pid here) and the fd. */
    record Owner(int pid, int fd) {
    }

    private final Map<Integer, Owner> owners = new HashMap<>();
    /** Restore's own copies of files made for a later process ({@link #hold}), closed by {@link #close}. */
    private final List<FileDescriptor> held = new ArrayList<>();
    /** Pipe or FIFO key ({@link PipeOpener#key}) → a process and fd of the tree holding that pipe. */
    private final Map<Object, Owner> pipes = new HashMap<>();

    /** The process and fd holding file {@code fileId}, or null when no process restored it yet. */
    Owner owner(int fileId) {
        return owners.get(fileId);
    }

    /** Notes that process {@code pid} (here) now holds file {@code fileId} at {@code fd}. */
    void opened(int fileId, int pid, int fd) {
        owners.putIfAbsent(fileId, new Owner(pid, fd));
    }

    /**
     * Takes fd {@code fd} of the process {@code in} injects into (a file it made for a later process
     * of the tree) into restore's own process, and notes it there as file {@code fileId}'s owner;
     * closes it in the process. The later process takes it with {@link #take}.
     */
    void hold(Injector in, int fileId, long fd, String what) throws IOException {
        FileDescriptor mine;
        try (Pidfd p = Pidfd.open(in.pid())) {
            mine = p.getfd((int) fd);
        } catch (NativeException e) {
            throw new RestoreException("cannot hold " + what + " for a later process: " + e.getMessage(), e);
        }
        held.add(mine);
        owners.put(fileId, new Owner((int) ProcessHandle.current().pid(), mine.fd()));
        in.call("close " + what, Syscalls.CLOSE, fd);
    }

    /** Closes restore's own copies ({@link #hold}): the processes that took them keep theirs. */
    @Override
    public void close() {
        for (FileDescriptor f : held) {
            f.close();
        }
        held.clear();
    }

    /**
     * A process of the tree restored before {@code pid} that holds the pipe or FIFO {@code key} (any
     * end: an anonymous pipe reopened through /proc/PID/fd opens with whatever access one asks), or
     * null when none does: the pipe is then made (and its bytes put back) in {@code pid}.
     */
    Owner pipeElsewhere(Object key, int pid) {
        Owner o = pipes.get(key);
        return o == null || o.pid() == pid ? null : o;
    }

    /** Notes that process {@code pid} holds the pipe or FIFO {@code key} at {@code fd}, in its final fd table. */
    void pipeHeld(Object key, int pid, int fd) {
        pipes.putIfAbsent(key, new Owner(pid, fd));
    }

    /**
     * Takes the open file description {@code o} holds into the process {@code in} injects into;
     * returns the new fd's number there (the lowest free one, close-on-exec: the caller sets its flags).
     */
    static long take(Injector in, Owner o, String what) throws IOException {
        long pidfd = in.raw(Syscalls.PIDFD_OPEN, o.pid(), 0);
        if (Syscalls.isError(pidfd)) {
            throw new RestoreException("cannot share " + what + " from process " + o.pid() + ": pidfd_open: "
                    + Errno.name(Syscalls.errno(pidfd)));
        }
        long fd;
        try {
            fd = in.raw(Syscalls.PIDFD_GETFD, pidfd, o.fd(), 0);
        } finally {
            in.call("close(pidfd)", Syscalls.CLOSE, pidfd);
        }
        if (Syscalls.isError(fd)) {
            throw new RestoreException("cannot share " + what + " from fd " + o.fd() + " of process " + o.pid()
                    + ": pidfd_getfd: " + Errno.name(Syscalls.errno(fd)));
        }
        return fd;
    }
}
