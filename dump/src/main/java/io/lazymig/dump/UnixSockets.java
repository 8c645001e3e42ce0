package io.lazymig.dump;

import io.lazymig.images.SocketOptions;
import io.lazymig.images.UnixSock;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Sockets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import io.lazymig.images.FileObject;
import io.lazymig.jni.SystemInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The unix sockets of this network namespace, listed once by sock_diag, and the reader of one
 * socket of the frozen process. What lazymig restores: a socket whose peer is another socket of
 * the same process (a socketpair, or both ends of a connection to its own listener), with the
 * data queued on each end; a listener bound to a path or an abstract name; a bound or unbound
 * socket without a peer; fds in flight in a queue (SCM_RIGHTS), read as files of the table by
 * {@link PassedFiles}. Refused with the reason: a peer outside the process, a datagram socket
 * connected one way, credentials in flight.
 */
final class UnixSockets {
    /** Reads the file a peek installed at fd {@code installed} of the process into the file table (its new id). */
    interface PassedFiles {
        FileObject read(int installed, String where) throws IOException;

        /**
         * Takes the installed fds to close them later (once the whole table is read, so a file in
         * flight in two queues is found one); false: the caller closes them now.
         */
        default boolean keep(List<Integer> installed) {
            return false;
        }
    }

    private final Map<Long, Sockets.Unix> byIno;

    private UnixSockets(Map<Long, Sockets.Unix> byIno) {
        this.byIno = byIno;
    }

    static UnixSockets list() throws IOException {
        Map<Long, Sockets.Unix> m = new HashMap<>();
        for (Sockets.Unix u : Sockets.unix()) {
            m.put(u.ino(), u);
        }
        return new UnixSockets(m);
    }

    Sockets.Unix find(long ino) {
        return byIno.get(ino);
    }

    /**
     * Why socket {@code u} cannot be restored, or null; {@code mine} are the socket inodes of the
     * processes dumped (the tree): a peer one of them holds is in the checkpoint, whichever holds it.
     */
    String refusal(Sockets.Unix u, Set<Long> mine) {
        if (u.peer() != 0) {
            if (!mine.contains(u.peer()) && externalName(u) != null) {
                return null; // a datagram socket connected to a named socket outside (/dev/log): reconnected by name
            }
            if (!mine.contains(u.peer())) {
                return "a unix socket connected to socket:[" + u.peer() + "], which no process of the dump holds: "
                        + "its peer cannot move with it (not supported)";
            }
            Sockets.Unix p = byIno.get(u.peer());
            if (p == null || p.peer() != u.ino()) {
                return "a unix socket connected one way to socket:[" + u.peer() + "] (a datagram socket "
                        + "connected to a bound one): not supported yet";
            }
        }
        if (u.name().length > 0 && u.name()[0] != 0 && u.name()[0] != '/') {
            return "a unix socket bound to the relative path " + new String(u.name()) + ": not supported";
        }
        return null;
    }

    /** The name of the peer a datagram socket {@code u} is connected to, when that peer is named, else null. */
    byte[] externalName(Sockets.Unix u) {
        Sockets.Unix p = byIno.get(u.peer());
        if (u.type() != Sockets.SOCK_DGRAM || p == null || p.name().length == 0 || p.peer() == u.ino()) {
            return null;
        }
        return p.name();
    }

    /**
     * Socket {@code fd} as a file object: sock_diag's state, its options and queue asked from the
     * process; {@code mine} are the socket inodes of the processes dumped (a peer among them is in the checkpoint).
     */
    UnixSock read(int id, int fd, Sockets.Unix u, int flags, Injections inj, String where, Set<Long> mine,
            PassedFiles passed) throws IOException {
        SocketOptions opts = SocketOptionsReader.read(fd, inj, false);
        boolean listening = u.state() == Sockets.TCP_LISTEN;
        List<byte[]> queue = List.of();
        List<List<Integer>> rights = List.of();
        // sock_diag's rqueue is a stream's queued bytes (a datagram socket's first packet only, which
        // may be empty): a stream with none needs no peek, six injected syscalls fewer inside the freeze
        boolean emptyStream = u.type() == Sockets.SOCK_STREAM && u.rqueue() == 0;
        if (!listening && !emptyStream) {
            Injections.Peeked q = inj.peekQueue(fd, u.type() == Sockets.SOCK_STREAM);
            boolean kept = false;
            try {
                if (q.control()) {
                    throw new DumpException(where + " is a unix socket with credentials (SO_PASSCRED) in flight in its "
                            + "queue, or fds the peek could not install (control data truncated): not supported");
                }
                queue = q.packets();
                rights = passedIds(q, inj.pid(), where, passed);
                kept = passed != null && passed.keep(q.allInstalled());
            } finally {
                if (!kept) {
                    inj.closeFds(q.allInstalled()); // nothing the peeks installed stays in the process
                }
            }
        }
        byte[] peerName = new byte[0];
        long peer = u.peer();
        if (peer != 0 && !mine.contains(peer)) {
            peerName = externalName(u);
            peer = 0; // not in the checkpoint: the name is what restore connects to
        }
        int mode = -1;
        int uid = 0;
        int gid = 0;
        if (u.name().length > 0 && u.name()[0] == '/') {
            Path p = Path.of(new String(u.name(), java.nio.charset.StandardCharsets.UTF_8));
            try {
                Object ino = Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
                if (ino instanceof Long i && i == u.vfsIno()) {
                    PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
                    uid = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
                    gid = (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
                    a.size(); // read for the attributes' consistency only
                }
            } catch (IOException | UnsupportedOperationException e) {
                mode = -1; // the socket file is gone or not this socket's: restore binds anew with the default mode
            }
        }
        try {
            return new UnixSock(id, u.ino(), u.type(), u.state(), u.name(), peer, listening ? u.wqueue() : 0,
                    flags & ~(FileDescriptor.O_CLOEXEC | FileDescriptor.O_ACCMODE), opts, u.shutdown(), mode, uid, gid, queue,
                    peerName, rights);
        } catch (IllegalArgumentException e) {
            throw new DumpException(where + ": " + e.getMessage(), e);
        }
    }

    /**
     * The file ids of the fds each packet of {@code q} carries: a file passed twice in the queue (one
     * open file description, kcmp) is one file; each other is read by {@code passed}.
     */
    private static List<List<Integer>> passedIds(Injections.Peeked q, int pid, String where, PassedFiles passed)
            throws IOException {
        List<List<Integer>> rights = new ArrayList<>();
        Map<Integer, Integer> seen = new LinkedHashMap<>(); // installed fd -> file id
        for (List<Integer> fds : q.installed()) {
            List<Integer> ids = new ArrayList<>();
            for (int f : fds) {
                Integer fileId = null;
                for (Map.Entry<Integer, Integer> e : seen.entrySet()) {
                    if (fileId == null && SystemInfo.sameOpenFile(pid, e.getKey(), pid, f)) {
                        fileId = e.getValue();
                    }
                }
                if (fileId == null) {
                    if (passed == null) {
                        throw new DumpException(where + " has fds in flight in its queue (SCM_RIGHTS): not read here");
                    }
                    fileId = passed.read(f, where).id();
                }
                seen.put(f, fileId);
                ids.add(fileId);
            }
            rights.add(ids);
        }
        return rights;
    }
}
