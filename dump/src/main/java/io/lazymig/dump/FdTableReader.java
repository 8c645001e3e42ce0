package io.lazymig.dump;

import io.lazymig.images.Epoll;
import io.lazymig.images.EpollWatch;
import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

        /** Whether epoll {@code epfd}'s watch of fd number {@code tfd} is on the file that fd holds now. */
        default boolean watchOnCurrentFile(int epfd, int tfd) throws IOException {
            return true; // a source without epolls of its own (a test's) has nothing to check
        }

        /** The process, for the readers that look further than its fdinfo (-1: none). */
        default int pid() {
            return -1;
        }

        /** Whether {@code fd} is the open file description {@code otherFd} of process {@code otherPid} is. */
        default boolean sameOpenFileAs(int fd, int otherPid, int otherFd) throws IOException {
            return false;
        }

        /** Whether the fd is a FIFO (its link names a path). */
        default boolean isFifo(int fd) throws IOException {
            return false;
        }

        /** The pipe end or FIFO behind the fd ({@link PipeEnds}). */
        default FileObject pipeEnd(int id, int fd, String target, int flags) throws IOException {
            throw new DumpException("fd " + fd + " (" + target + "): pipes are read from /proc only");
        }

        /** The fd table of {@code pid}, whose pipes and FIFOs {@code pipes} reads. */
        static Source of(int pid, PipeEnds pipes) {
            return new Source() {
                @Override
                public int pid() {
                    return pid;
                }

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

                @Override
                public boolean sameOpenFileAs(int fd, int otherPid, int otherFd) throws IOException {
                    return SystemInfo.sameOpenFile(pid, fd, otherPid, otherFd);
                }

                @Override
                public boolean watchOnCurrentFile(int epfd, int tfd) throws IOException {
                    return SystemInfo.epollWatchesFileAt(pid, epfd, tfd, tfd);
                }

                @Override
                public boolean isFifo(int fd) {
                    return PipeEnds.isFifo(pid, fd);
                }

                @Override
                public FileObject pipeEnd(int id, int fd, String target, int flags) throws IOException {
                    return target.startsWith("pipe:") ? pipes.pipe(pid, fd, id, target, flags)
                            : pipes.fifo(pid, fd, id, target, flags);
                }
            };
        }
    }

    /**
     * The slots (ascending) and the open files (ids from {@code firstId} up) of one process, and
     * where each of those files was first seen (for the processes read after it).
     */
    record Table(List<FdSlot> slots, List<FileObject> files, List<Owner> owners) {
        Table(List<FdSlot> slots, List<FileObject> files) {
            this(slots, files, List.of());
        }
    }

    /** A file of an earlier process of the tree: the process, its first fd, and the file's id. */
    record Owner(int pid, int fd, int fileId) {
    }

    private FdTableReader() {
    }

    static Table read(Source source, int firstId) throws IOException {
        return read(source, 0, firstId, List.of(), null);
    }

    /**
     * The fd table of process {@code pid}; an fd that is one open file description with a file of
     * an earlier process of the tree ({@code earlier}: inherited across fork) points at that file;
     * {@code sockets} reads the socket fds (null: a socket is refused).
     */
    static Table read(Source source, int pid, int firstId, List<Owner> earlier, SocketReader sockets)
            throws IOException {
        List<FdSlot> slots = new ArrayList<>();
        List<FileObject> files = new ArrayList<>();
        List<Integer> owners = new ArrayList<>(); // the first fd of each file, by index in files
        int[] nextId = {firstId};
        List<Integer> table = source.fds();
        // fds installed by the peeks of the queues, open until the whole table is read: a file in flight
        // in two queues (one open file description, kcmp) is one file; closed whatever happens
        List<Integer> installedFds = new ArrayList<>();
        Map<Integer, FileObject> inFlight = new LinkedHashMap<>();
        try {
            for (int fd : table) {
                ProcFdInfo info = source.info(fd);
                boolean cloexec = (info.flags() & FileDescriptor.O_CLOEXEC) != 0;
                int id = 0;
                for (int i = 0; i < earlier.size() && id == 0; i++) {
                    Owner o = earlier.get(i);
                    if (source.sameOpenFileAs(fd, o.pid(), o.fd())) {
                        id = o.fileId(); // inherited across fork: one description for the whole tree
                    }
                }
                for (int i = 0; i < owners.size() && id == 0; i++) {
                    if (owners.get(i) >= 0 && source.sameOpenFile(owners.get(i), fd)) {
                        id = files.get(i).id(); // a dup or 2>&1: one offset, restored as one
                    }
                }
                if (id == 0) {
                    id = nextId[0]++;
                    String target = source.target(fd);
                    if (SocketReader.isSocket(target)) {
                        if (sockets == null) {
                            throw new DumpException("fd " + fd + " is a socket (" + target + "): not read here");
                        }
                        List<FileObject> passed = new ArrayList<>();
                        files.add(sockets.read(id, fd, target, info.flags(), new UnixSockets.PassedFiles() {
                            @Override
                            public FileObject read(int installed, String where) throws IOException {
                                for (Map.Entry<Integer, FileObject> e : inFlight.entrySet()) {
                                    if (source.sameOpenFile(e.getKey(), installed)) {
                                        return e.getValue(); // in flight in another queue too: one file
                                    }
                                }
                                FileObject f = readPassed(source, installed, nextId[0], where, table, earlier);
                                nextId[0]++;
                                passed.add(f);
                                inFlight.put(installed, f);
                                return f;
                            }

                            @Override
                            public boolean keep(List<Integer> installed) {
                                installedFds.addAll(installed);
                                return true;
                            }
                        }));
                        owners.add(fd);
                        for (FileObject f : passed) {
                            files.add(f);
                            owners.add(-1); // held by no fd: only in flight
                        }
                        slots.add(new FdSlot(fd, cloexec, id));
                        continue;
                    } else {
                        files.add(FileKinds.read(source, fd, id, target, info.flags() & ~FileDescriptor.O_CLOEXEC,
                                info.pos(), info.text()));
                    }
                    owners.add(fd);
                }
                slots.add(new FdSlot(fd, cloexec, id));
            }
        } finally {
            if (!installedFds.isEmpty()) {
                sockets.closeInstalled(installedFds); // nothing the peeks installed stays in the process
            }
        }
        checkEpolls(source, slots, files);
        List<Owner> mine = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            if (owners.get(i) >= 0) {
                mine.add(new Owner(pid, owners.get(i), files.get(i).id()));
            }
        }
        return new Table(slots, files, mine);
    }

    /**
     * The file a peek of a unix socket's queue installed at fd {@code installed} (passed over
     * SCM_RIGHTS and still in flight), read as any fd of the table is, with id {@code id}. Refused,
     * naming the socket ({@code where}) and the kind: a kind restore does not pass
     * ({@link io.lazymig.images.UnixSock#PASSABLE}: regular files, pipes, FIFOs, /dev/null), and a file that is also
     * open at an fd of the tree (the process would get two open files where it had one).
     */
    static FileObject readPassed(Source source, int installed, int id, String where, List<Integer> table,
            List<Owner> earlier) throws IOException {
        String target = source.target(installed);
        String refused = where + " has an fd in flight in its queue (SCM_RIGHTS) that is ";
        if (SocketReader.isSocket(target)) {
            throw new DumpException(refused + "a socket (" + target + "): passing sockets is not supported");
        }
        for (int fd : table) {
            if (fd != installed && source.sameOpenFile(fd, installed)) {
                throw new DumpException(refused + target + ", open at fd " + fd + " too: a file both in flight and "
                        + "held by an fd is not supported yet");
            }
        }
        for (Owner o : earlier) {
            if (source.sameOpenFileAs(installed, o.pid(), o.fd())) {
                throw new DumpException(refused + target + ", open in process " + o.pid() + " fd " + o.fd()
                        + " too: a file both in flight and held by an fd is not supported yet");
            }
        }
        ProcFdInfo info = source.info(installed);
        FileObject f = FileKinds.read(source, installed, id, target, info.flags() & ~FileDescriptor.O_CLOEXEC, info.pos(),
                info.text());
        if (!io.lazymig.images.UnixSock.PASSABLE.contains(f.getClass())) {
            throw new DumpException(refused + f.describe() + " (" + target + "): only regular files, pipes, FIFOs and "
                    + "/dev/null are carried in flight");
        }
        return f;
    }

    /**
     * Every fd an epoll watches is in the table and still holds the file watched: restore adds the
     * watches on the fds it has made. A watch outlives its fd when the file stays open through a dup
     * (the kernel keys it by file and fd number); such a watch names a number that is closed, or that
     * names another file since (kcmp), and cannot be made again.
     */
    static void checkEpolls(Source source, List<FdSlot> slots, List<FileObject> files) throws IOException {
        for (FileObject f : files) {
            if (!(f instanceof Epoll e)) {
                continue;
            }
            int epfd = slots.stream().filter(s -> s.fileId() == e.id()).findFirst().orElseThrow().fd();
            for (EpollWatch w : e.watches()) {
                boolean open = slots.stream().anyMatch(s -> s.fd() == w.fd());
                if (!open || !source.watchOnCurrentFile(epfd, w.fd())) {
                    throw staleWatch(source.pid(), epfd, w.fd(), open);
                }
            }
        }
    }

    /** The refusal of an epoll's watch whose fd number is closed or holds another file than the one watched. */
    static DumpException staleWatch(int pid, int epfd, int tfd, boolean open) {
        return new DumpException("process " + pid + " fd " + epfd + " (epoll) watches fd " + tfd
                + (open ? ", which holds another file now" : ", which is closed")
                + " (the watched file lives on in a dup): remove the watch (EPOLL_CTL_DEL) when closing the fd to make "
                + "it restorable");
    }
}
