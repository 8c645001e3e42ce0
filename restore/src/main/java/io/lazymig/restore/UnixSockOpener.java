package io.lazymig.restore;

import io.lazymig.images.FileObject;
import io.lazymig.images.UnixSock;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Sockets;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A unix socket, rebuilt by injected syscalls. Two sockets that are each other's peer come from
 * one socketpair when the first of them is opened: the other end waits, parked above the fd range,
 * for its own slot; each end's queue is sent again through the other end, so each receives what
 * it had queued, in order. A listener is bound to its name again (a stale socket file at its path
 * is removed first; the file gets its mode and owner back) and listens with its backlog; a bound
 * datagram socket gets its queue from a throw-away sender (the original senders' addresses are
 * not kept); a datagram socket connected to a named socket outside (/dev/log) is connected to that
 * name again. When the other end of a pair belongs to another process of the tree (each holds one
 * end), restore holds it ({@link SharedFiles#hold}) until that process takes it. A packet that
 * carried fds at dump (SCM_RIGHTS in flight) is sent with them again: each passed file is opened
 * once as the openers open an fd's file (its offset put back), parked, sent with every packet
 * that carries it, and restore's copy closed with the parking area. The queues are sent by
 * {@link UnixQueueSender}, whatever their size against the sending socket's buffer. One
 * instance per process restored: it holds the parked ends.
 */
final class UnixSockOpener implements FileOpener<UnixSock> {
    /** Where the far end of a pair waits for its slot (above restore's parked stdio). */
    static final int PARKING = 2000;

    private final Map<Long, UnixSock> byIno = new HashMap<>();
    private final Map<Integer, FileObject> byId = new HashMap<>();
    /** The files in flight opened so far in this process, parked: file id -> fd. */
    private final Map<Integer, Long> inFlight = new HashMap<>();
    /** Opens the files a queued packet passes (set by {@link FileOpeners}). */
    private FileOpeners openers;
    private final Map<Long, Long> parked = new HashMap<>();
    /** The file ids this process's fds hold; null: all of them. */
    private final Set<Integer> here;

    UnixSockOpener(List<FileObject> files, Set<Integer> here) {
        this.here = here == null ? null : Set.copyOf(here);
        for (FileObject f : files) {
            byId.put(f.id(), f);
            if (f instanceof UnixSock u) {
                byIno.put(u.ino(), u);
            }
        }
    }

    /** The openers that open the files passed in queued packets. */
    void passedFilesOpenedBy(FileOpeners o) {
        this.openers = o;
    }

    @Override
    public Class<UnixSock> kind() {
        return UnixSock.class;
    }

    @Override
    public long open(Injector in, UnixSock s, int fd, ParkedStdio stdio) throws IOException {
        Long waiting = parked.remove(s.ino());
        if (waiting != null) {
            return waiting;
        }
        String what = "fd " + fd + " (" + s.describe() + ")";
        if (s.peer() != 0) {
            return pair(in, s, what, stdio);
        }
        long sfd = socket(in, s, what);
        if (s.name().length > 0) {
            bind(in, sfd, s, what);
        }
        if (s.reconnectsByName()) {
            in.resetScratch();
            ByteBuffer addr = sockaddr(s.peerName());
            long at = in.put(addr);
            long rc = in.raw(Syscalls.CONNECT, sfd, at, addr.capacity());
            if (Syscalls.isError(rc)) {
                throw new RestoreException("cannot connect " + what + " again: " + Errno.name(Syscalls.errno(rc)) + " ("
                        + Errno.text(Syscalls.errno(rc)) + ")");
            }
        }
        if (s.isListening()) {
            in.call("listen " + what, Syscalls.LISTEN, sfd, s.backlog());
        } else if (!s.queue().isEmpty()) {
            if (s.name().length == 0) {
                throw new RestoreException(what + ": data queued on a socket with neither name nor peer");
            }
            long sender = in.call("socket (sender for " + what + ")", Syscalls.SOCKET, Sockets.AF_UNIX, s.type(), 0);
            try {
                UnixQueueSender q = new UnixQueueSender(in, sender, s.type() == Sockets.SOCK_STREAM, what);
                for (int i = 0; i < s.queue().size(); i++) {
                    q.send(s.queue().get(i), s.name(), passed(in, s, i, stdio));
                }
            } finally {
                in.raw(Syscalls.CLOSE, sender);
            }
        }
        return sfd;
    }

    private long pair(Injector in, UnixSock s, String what, ParkedStdio stdio) throws IOException {
        UnixSock peer = byIno.get(s.peer());
        if (peer == null || peer.peer() != s.ino()) {
            throw new RestoreException(what + ": its peer socket:[" + s.peer() + "] is not in the checkpoint");
        }
        in.resetScratch();
        long sv = in.put(ByteBuffer.allocateDirect(8));
        in.call("socketpair " + what, Syscalls.SOCKETPAIR, Sockets.AF_UNIX, s.type(), 0, sv);
        ByteBuffer fds = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
        in.read(sv, fds);
        long mine = fds.getInt(0);
        long theirs = fds.getInt(4);
        String peerWhat = "the peer of " + what;
        setUp(in, mine, s, what);
        setUp(in, theirs, peer, peerWhat);
        boolean stream = s.type() == Sockets.SOCK_STREAM;
        UnixQueueSender toMine = new UnixQueueSender(in, theirs, stream, what);
        for (int i = 0; i < s.queue().size(); i++) {
            toMine.send(s.queue().get(i), null, passed(in, s, i, stdio));
        }
        toMine.finish();
        UnixQueueSender toTheirs = new UnixQueueSender(in, mine, stream, peerWhat);
        for (int i = 0; i < peer.queue().size(); i++) {
            toTheirs.send(peer.queue().get(i), null, passed(in, peer, i, stdio));
        }
        toTheirs.finish();
        shutdown(in, mine, s, what);
        shutdown(in, theirs, peer, peerWhat);
        if (here != null && !here.contains(peer.id())) {
            // another process of the tree holds that end: it takes it from restore
            stdio.shared().hold(in, peer.id(), theirs, peerWhat);
            return mine;
        }
        long at = in.call("fcntl(F_DUPFD) " + peerWhat, Syscalls.FCNTL, theirs, Syscalls.F_DUPFD, PARKING);
        in.raw(Syscalls.CLOSE, theirs);
        parked.put(peer.ino(), at);
        return mine;
    }

    private long socket(Injector in, UnixSock s, String what) throws IOException {
        long sfd = in.raw(Syscalls.SOCKET, Sockets.AF_UNIX, s.type(), 0);
        if (Syscalls.isError(sfd)) {
            throw new RestoreException("cannot create socket " + what + ": " + Errno.name(Syscalls.errno(sfd)));
        }
        setUp(in, sfd, s, what);
        return sfd;
    }

    /** Its open flags (O_NONBLOCK) and options. */
    private static void setUp(Injector in, long sfd, UnixSock s, String what) throws IOException {
        if ((s.flags() & FileDescriptor.O_NONBLOCK) != 0) {
            in.call("fcntl(F_SETFL) " + what, Syscalls.FCNTL, sfd, Syscalls.F_SETFL, FileDescriptor.O_NONBLOCK);
        }
        new SocketOptionsWriter(in, (int) sfd, what).apply(s.opts(), false);
    }

    private static void shutdown(Injector in, long sfd, UnixSock s, String what) throws IOException {
        if ((s.shutdown() & 2) != 0) { // SEND_SHUTDOWN: the peer sees end-of-file after the queue
            in.call("shutdown " + what, Syscalls.SHUTDOWN, sfd, Sockets.SHUT_WR);
        }
    }

    private static void bind(Injector in, long sfd, UnixSock s, String what) throws IOException {
        if (s.hasPath()) {
            Path p = Path.of(s.path());
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Object mode = Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                if (!(mode instanceof Integer m) || (m & 0170000) != 0140000) {
                    throw new RestoreException("cannot bind " + what + ": " + p + " exists and is not a socket file");
                }
                in.resetScratch();
                in.call("unlink " + p, Syscalls.UNLINK, in.putString(s.path()));
            }
        }
        in.resetScratch();
        ByteBuffer addr = sockaddr(s.name());
        long at = in.put(addr);
        long rc = in.raw(Syscalls.BIND, sfd, at, addr.capacity());
        if (Syscalls.isError(rc)) {
            throw new RestoreException("cannot bind " + what + ": " + Errno.name(Syscalls.errno(rc)) + " ("
                    + Errno.text(Syscalls.errno(rc)) + ")");
        }
        if (s.hasPath() && s.mode() >= 0) {
            in.resetScratch();
            long path = in.putString(s.path());
            in.call("chmod " + s.path(), Syscalls.CHMOD, path, s.mode());
            in.call("lchown " + s.path(), Syscalls.LCHOWN, path, s.uid(), s.gid());
        }
    }

    /** struct sockaddr_un for {@code name}, as long as the name needs (a path: with its NUL). */
    static ByteBuffer sockaddr(byte[] name) {
        int len = Sockets.SOCKADDR_UN_PATH_OFFSET + name.length + (name.length > 0 && name[0] == '/' ? 1 : 0);
        ByteBuffer b = ByteBuffer.allocateDirect(len).order(ByteOrder.nativeOrder());
        b.putShort(0, (short) Sockets.AF_UNIX);
        b.put(Sockets.SOCKADDR_UN_PATH_OFFSET, name);
        return b;
    }

    /**
     * The files packet {@code i} of {@code s}'s queue carries, open in the process (offset put back)
     * for the send; none for most packets. Each passed file is opened once for the process and kept
     * in the parking area, closed with it after the fd table is rebuilt: a file in flight in several
     * packets stays one open file, with one offset, as at dump.
     */
    private long[] passed(Injector in, UnixSock s, int i, ParkedStdio stdio) throws IOException {
        List<Integer> ids = s.rights().get(i);
        long[] fds = new long[ids.size()];
        for (int k = 0; k < fds.length; k++) {
            int id = ids.get(k);
            Long open = inFlight.get(id);
            if (open == null) {
                FileObject f = byId.get(id);
                if (f == null || openers == null) {
                    throw new RestoreException(s.describe() + ": file id " + id + " in flight is not in the checkpoint");
                }
                long got = openers.openFile(in, f, -1, stdio);
                long pos = FileOpeners.position(f);
                if (pos > 0) {
                    long rc = in.raw(Syscalls.LSEEK, got, pos, Syscalls.SEEK_SET);
                    if (Syscalls.isError(rc)) {
                        in.raw(Syscalls.CLOSE, got);
                        throw new RestoreException("cannot seek " + f.describe() + " (in flight on " + s.describe()
                                + ") to " + pos + ": " + Errno.name(Syscalls.errno(rc)));
                    }
                }
                open = stdio.park(in, got);
                inFlight.put(id, open);
            }
            fds[k] = open;
        }
        return fds;
    }

    @Override
    public long position(UnixSock file) {
        return -1;
    }
}
