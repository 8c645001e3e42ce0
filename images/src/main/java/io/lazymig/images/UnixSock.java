package io.lazymig.images;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A unix socket (CRIU's unix_sk_entry): stream, datagram or seqpacket; its state (TCP_LISTEN,
 * TCP_ESTABLISHED, TCP_CLOSE numbers, as the kernel reports them), its name (a path, an abstract
 * name starting with a NUL byte, or none), the inode of its peer (0: none), backlog, open flags,
 * options, shutdown mask, the mode and owner of its socket file (a path; mode -1: unknown), and
 * the data waiting in its receive queue (sk-queues.img), one entry per packet (a stream: one
 * entry for all its bytes). Restore makes a pair of two sockets that are each other's peer with
 * socketpair and sends each one's queue through the other. {@code peerName} (empty: none) is the
 * name of a peer outside the process that a datagram socket is connected to (/dev/log): restore
 * connects it to that name again. {@code rights} holds, packet by packet of the queue, the file ids
 * of the fds that packet carries (SCM_RIGHTS in flight; CRIU's scm_entry), empty for most packets;
 * those files are in the file table, opened by restore only to be sent with their packet.
 */
public record UnixSock(int id, long ino, int type, int state, byte[] name, long peer, int backlog, int flags,
        SocketOptions opts, int shutdown, int mode, int uid, int gid, List<byte[]> queue, byte[] peerName,
        List<List<Integer>> rights) implements FileObject {
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_SEQPACKET = 5;
    public static final int TCP_ESTABLISHED = 1;
    public static final int TCP_CLOSE = 7;
    public static final int TCP_LISTEN = 10;
    /** The kinds of file a queued packet may carry (SCM_RIGHTS): what dump reads as a passed fd and restore sends again. */
    public static final java.util.Set<Class<? extends FileObject>> PASSABLE = java.util.Set.of(RegularFile.class, Pipe.class,
            Fifo.class, DevNull.class);
    /** sun_path's size: a name of more bytes cannot be bound. */
    public static final int MAX_NAME = 108;

    public UnixSock {
        FileObject.checkId(id);
        if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET) {
            throw new IllegalArgumentException("unix socket " + id + ": type " + type + " is not stream, datagram or seqpacket");
        }
        if (state != TCP_ESTABLISHED && state != TCP_CLOSE && state != TCP_LISTEN) {
            throw new IllegalArgumentException("unix socket " + id + ": state " + state + " is not listening, connected or closed");
        }
        if (name.length > MAX_NAME) {
            throw new IllegalArgumentException("unix socket " + id + ": a name of " + name.length + " bytes (at most "
                    + MAX_NAME + ")");
        }
        if (name.length > 0 && name[0] != 0 && name[0] != '/') {
            throw new IllegalArgumentException("unix socket " + id + ": name " + new String(name)
                    + " is a relative path (not supported)");
        }
        if (backlog < 0 || shutdown < 0 || shutdown > 3) {
            throw new IllegalArgumentException("unix socket " + id + ": backlog " + backlog + ", shutdown " + shutdown);
        }
        name = name.clone();
        peerName = peerName.clone();
        if (peerName.length > MAX_NAME || (peerName.length > 0 && type != SOCK_DGRAM)) {
            throw new IllegalArgumentException("unix socket " + id + ": a peer name of " + peerName.length
                    + " bytes on a socket of type " + type + " (only a datagram socket reconnects by name)");
        }
        List<byte[]> q = new ArrayList<>();
        for (byte[] p : queue) {
            q.add(p.clone());
        }
        queue = List.copyOf(q);
        if (rights.isEmpty()) {
            rights = java.util.Collections.nCopies(queue.size(), List.of());
        }
        if (rights.size() != queue.size()) {
            throw new IllegalArgumentException("unix socket " + id + ": " + rights.size() + " passed-fd lists for "
                    + queue.size() + " queued packets");
        }
        List<List<Integer>> r = new ArrayList<>();
        for (List<Integer> ids : rights) {
            for (int f : ids) {
                FileObject.checkId(f);
            }
            r.add(List.copyOf(ids));
        }
        rights = List.copyOf(r);
    }

    /** A socket with nothing in flight with its queue. */
    public UnixSock(int id, long ino, int type, int state, byte[] name, long peer, int backlog, int flags,
            SocketOptions opts, int shutdown, int mode, int uid, int gid, List<byte[]> queue, byte[] peerName) {
        this(id, ino, type, state, name, peer, backlog, flags, opts, shutdown, mode, uid, gid, queue, peerName, List.of());
    }

    /** The file ids of every fd in flight in its queue, in order. */
    public List<Integer> passedFiles() {
        List<Integer> all = new ArrayList<>();
        rights.forEach(all::addAll);
        return all;
    }

    @Override
    public byte[] name() {
        return name.clone();
    }

    @Override
    public byte[] peerName() {
        return peerName.clone();
    }

    /** A datagram socket connected to a named peer outside the process. */
    public boolean reconnectsByName() {
        return peerName.length > 0;
    }

    public boolean isListening() {
        return state == TCP_LISTEN;
    }

    public boolean isAbstract() {
        return name.length > 0 && name[0] == 0;
    }

    public boolean hasPath() {
        return name.length > 0 && name[0] == '/';
    }

    /** The path a named socket is bound to (its name, for a path). */
    public String path() {
        return new String(name, java.nio.charset.StandardCharsets.UTF_8);
    }

    public long queuedBytes() {
        return queue.stream().mapToLong(p -> p.length).sum();
    }

    /** The same socket with {@code packets} as its receive queue (sk-queues.img read back). */
    public UnixSock withQueue(List<byte[]> packets) {
        return new UnixSock(id, ino, type, state, name, peer, backlog, flags, opts, shutdown, mode, uid, gid, packets, peerName);
    }

    /** The same socket with {@code packets} as its receive queue, carrying the files {@code passed} (one list a packet). */
    public UnixSock withQueue(List<byte[]> packets, List<List<Integer>> passed) {
        return new UnixSock(id, ino, type, state, name, peer, backlog, flags, opts, shutdown, mode, uid, gid, packets, peerName,
                passed);
    }

    @Override
    public String describe() {
        String t = type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "datagram" : "seqpacket";
        String n = name.length == 0 ? "" : isAbstract() ? " @" + new String(name, 1, name.length - 1,
                java.nio.charset.StandardCharsets.UTF_8) : " " + path();
        String p = peerName.length > 0 ? " (connected to " + (peerName[0] == 0 ? "@" + new String(peerName, 1,
                peerName.length - 1, java.nio.charset.StandardCharsets.UTF_8) : new String(peerName,
                java.nio.charset.StandardCharsets.UTF_8)) + ")" : peer != 0 ? " (peer socket:[" + peer + "])" : "";
        return "unix " + t + (isListening() ? " listening on" : "") + n + p;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof UnixSock s) || queue.size() != s.queue.size()) {
            return false;
        }
        for (int i = 0; i < queue.size(); i++) {
            if (!Arrays.equals(queue.get(i), s.queue.get(i))) {
                return false;
            }
        }
        return id == s.id && ino == s.ino && type == s.type && state == s.state && Arrays.equals(name, s.name)
                && peer == s.peer && backlog == s.backlog && flags == s.flags && opts.equals(s.opts)
                && shutdown == s.shutdown && mode == s.mode && uid == s.uid && gid == s.gid
                && Arrays.equals(peerName, s.peerName) && rights.equals(s.rights);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(ino) * 31 + id;
    }
}
