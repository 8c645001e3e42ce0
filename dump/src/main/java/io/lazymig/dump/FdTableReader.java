package io.lazymig.dump;

import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a frozen process's fd table into fd slots and the open files they point at: fds that are
 * one open file description (kcmp) share one file object, as CRIU's files.img entries are shared;
 * each new open file is read by the reader of its kind ({@link FileKinds}), chosen by the fd's
 * link target.
 */
final class FdTableReader {
    /** The fd table of one process as the kernel shows it; {@link #of(int)} is /proc and kcmp. */
    interface Source {
        /** The open fd numbers, ascending. */
        List<Integer> fds() throws IOException;

        /** The fd's /proc/PID/fd link target. */
        String target(int fd) throws IOException;

        ProcFdInfo info(int fd) throws IOException;

        /** Whether the two fds are one open file description. */
        boolean sameOpenFile(int fd1, int fd2) throws IOException;

        static Source of(int pid) {
            return new Source() {
                @Override
                public List<Integer> fds() throws IOException {
                    return Preflight.openFds(pid);
                }

                @Override
                public String target(int fd) throws IOException {
                    return Preflight.fdTarget(pid, fd);
                }

                @Override
                public ProcFdInfo info(int fd) throws IOException {
                    return ProcFdInfo.read(pid, fd);
                }

                @Override
                public boolean sameOpenFile(int fd1, int fd2) throws IOException {
                    return SystemInfo.sameOpenFile(pid, fd1, pid, fd2);
                }
            };
        }
    }

    /** The slots (ascending) and the open files (ids from {@code firstId} up) of one process. */
    record Table(List<FdSlot> slots, List<FileObject> files) {
    }

    private FdTableReader() {
    }

    static Table read(Source source, int firstId) throws IOException {
        return read(source, firstId, null);
    }

    /** As {@link #read(Source, int)}, with {@code sockets} reading the socket fds (null: a socket is refused). */
    static Table read(Source source, int firstId, SocketReader sockets) throws IOException {
        List<FdSlot> slots = new ArrayList<>();
        List<FileObject> files = new ArrayList<>();
        List<Integer> owners = new ArrayList<>(); // the first fd of each file, by index in files
        int nextId = firstId;
        for (int fd : source.fds()) {
            ProcFdInfo info = source.info(fd);
            boolean cloexec = (info.flags() & FileDescriptor.O_CLOEXEC) != 0;
            int id = 0;
            for (int i = 0; i < owners.size() && id == 0; i++) {
                if (source.sameOpenFile(owners.get(i), fd)) {
                    id = files.get(i).id(); // a dup or 2>&1: one offset, restored as one
                }
            }
            if (id == 0) {
                id = nextId++;
                String target = source.target(fd);
                if (SocketReader.isSocket(target)) {
                    if (sockets == null) {
                        throw new DumpException("fd " + fd + " is a socket (" + target + "): not read here");
                    }
                    files.add(sockets.read(id, fd, target, info.flags()));
                } else {
                    files.add(FileKinds.read(id, target, info.flags() & ~FileDescriptor.O_CLOEXEC, info.pos()));
                }
                owners.add(fd);
            }
            slots.add(new FdSlot(fd, cloexec, id));
        }
        return new Table(slots, files);
    }
}
