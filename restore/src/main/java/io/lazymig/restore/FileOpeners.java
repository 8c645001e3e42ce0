package io.lazymig.restore;

import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import java.io.IOException;
import java.util.List;
import java.util.Set;

/** The opener of every file kind; the socket ones take the restore's --ip-map and the file table. */
final class FileOpeners {
    private static final FileOpeners DEFAULT = new FileOpeners(IpMap.NONE, null, List.of(), null, null);

    private final List<FileOpener<?>> openers;

    /**
     * The openers of one process's restore: {@code files} is the checkpoint's file table (pairs are
     * made from it), {@code here} the file ids the process's fds hold (null: all of them),
     * {@code shmems} the tree's shared memory objects (null: none), which its memfds reopen;
     * established TCP connections come back alive, held in {@code held}, when it is not null, else closed.
     */
    FileOpeners(IpMap ipMap, HeldConnections held, List<FileObject> files, Set<Integer> here, ShmemObjects shmems) {
        UnixSockOpener unix = new UnixSockOpener(files, here);
        openers = List.of(new MemfdOpener(shmems), new RegularFileOpener(), new DevNullOpener(), new TerminalOpener(), new PipeOpener(),
                new FifoOpener(), new CharDeviceOpener(), new EventfdOpener(), new TimerfdOpener(), new SignalfdOpener(),
                new InotifyOpener(), new EpollOpener(), new InetSocketOpener(ipMap, held), unix,
                new NetlinkSocketOpener());
        unix.passedFilesOpenedBy(this);
    }

    static FileOpener<?> of(FileObject f) {
        return DEFAULT.opener(f);
    }

    FileOpener<?> opener(FileObject f) {
        for (FileOpener<?> o : openers) {
            if (o.kind() == f.getClass()) {
                return o;
            }
        }
        throw new IllegalStateException("no opener for " + f.getClass().getSimpleName());
    }

    static long open(Injector in, FileObject f, int fd, ParkedStdio stdio) throws IOException {
        return DEFAULT.openFile(in, f, fd, stdio);
    }

    long openFile(Injector in, FileObject f, int fd, ParkedStdio stdio) throws IOException {
        return open(opener(f), in, f, fd, stdio);
    }

    static long position(FileObject f) {
        return position(of(f), f);
    }

    static void complete(Injector in, FileObject f, int fd, List<FdSlot> slots) throws IOException {
        complete(of(f), in, f, fd, slots);
    }

    private static <T extends FileObject> void complete(FileOpener<T> o, Injector in, FileObject f, int fd,
            List<FdSlot> slots) throws IOException {
        o.complete(in, o.kind().cast(f), fd, slots);
    }

    private static <T extends FileObject> long open(FileOpener<T> o, Injector in, FileObject f, int fd, ParkedStdio stdio)
            throws IOException {
        return o.open(in, o.kind().cast(f), fd, stdio);
    }

    private static <T extends FileObject> long position(FileOpener<T> o, FileObject f) {
        return o.position(o.kind().cast(f));
    }
}
