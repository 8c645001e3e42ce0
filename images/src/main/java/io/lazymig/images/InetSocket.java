package io.lazymig.images;

import java.util.Arrays;

/**
 * An IPv4 or IPv6 TCP or UDP socket (CRIU's inet_sk_entry): its kernel state (a TCP state number;
 * UDP uses TCP_CLOSE and TCP_ESTABLISHED), local and remote address and port, backlog (a listener),
 * open flags (O_NONBLOCK), options, IPV6_V6ONLY, TCP_NODELAY, IP_FREEBIND and IP_TRANSPARENT. Addresses are 4 or 16
 * bytes, all zero for the wildcard. Restore binds it to the same port; an established TCP
 * connection is restored closed (see {@link #isConnectedStream()}), or alive when it was dumped with
 * --tcp-established: then {@code stream} holds its state and queues (tcp-stream-INO.img), else null.
 */
public record InetSocket(int id, long ino, int family, int type, int protocol, int state, byte[] src, int srcPort,
        byte[] dst, int dstPort, int backlog, int flags, SocketOptions opts, boolean v6only, boolean nodelay,
        boolean freebind, boolean transparent, TcpStream stream) implements FileObject {
    /** Linux's AF_INET and AF_INET6 (the image stores them as numbers, as CRIU does). */
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_UDP = 17;
    /** TCP states of include/net/tcp_states.h that matter here. */
    public static final int TCP_ESTABLISHED = 1;
    public static final int TCP_CLOSE = 7;
    public static final int TCP_LISTEN = 10;

    public InetSocket {
        FileObject.checkId(id);
        if (family != AF_INET && family != AF_INET6) {
            throw new IllegalArgumentException("inet socket " + id + ": family " + family + " is neither AF_INET nor AF_INET6");
        }
        if (!(type == SOCK_STREAM && protocol == IPPROTO_TCP) && !(type == SOCK_DGRAM && protocol == IPPROTO_UDP)) {
            throw new IllegalArgumentException("inet socket " + id + ": type " + type + " protocol " + protocol
                    + " is neither TCP (stream) nor UDP (datagram)");
        }
        int len = family == AF_INET ? 4 : 16;
        if (src.length != len || dst.length != len) {
            throw new IllegalArgumentException("inet socket " + id + ": addresses of " + src.length + " and " + dst.length
                    + " bytes, expected " + len);
        }
        if (srcPort < 0 || srcPort > 65535 || dstPort < 0 || dstPort > 65535) {
            throw new IllegalArgumentException("inet socket " + id + ": port out of range");
        }
        if (state < 1 || state > 12) {
            throw new IllegalArgumentException("inet socket " + id + ": state " + state + " is not a TCP state");
        }
        if (backlog < 0) {
            throw new IllegalArgumentException("inet socket " + id + ": negative backlog " + backlog);
        }
        if (stream != null && (protocol != IPPROTO_TCP || state != TCP_ESTABLISHED)) {
            throw new IllegalArgumentException("inet socket " + id + ": a tcp stream for a socket in state " + state
                    + " (only an established TCP connection carries one)");
        }
        src = src.clone();
        dst = dst.clone();
    }

    /** A socket without a carried stream. */
    public InetSocket(int id, long ino, int family, int type, int protocol, int state, byte[] src, int srcPort,
            byte[] dst, int dstPort, int backlog, int flags, SocketOptions opts, boolean v6only, boolean nodelay,
            boolean freebind, boolean transparent) {
        this(id, ino, family, type, protocol, state, src, srcPort, dst, dstPort, backlog, flags, opts, v6only, nodelay,
                freebind, transparent, null);
    }

    /** A socket without IP_TRANSPARENT and without a carried stream. */
    public InetSocket(int id, long ino, int family, int type, int protocol, int state, byte[] src, int srcPort,
            byte[] dst, int dstPort, int backlog, int flags, SocketOptions opts, boolean v6only, boolean nodelay,
            boolean freebind) {
        this(id, ino, family, type, protocol, state, src, srcPort, dst, dstPort, backlog, flags, opts, v6only, nodelay,
                freebind, false, null);
    }

    /** A socket without IP_TRANSPARENT carrying {@code stream} (null: none). */
    public InetSocket(int id, long ino, int family, int type, int protocol, int state, byte[] src, int srcPort,
            byte[] dst, int dstPort, int backlog, int flags, SocketOptions opts, boolean v6only, boolean nodelay,
            boolean freebind, TcpStream stream) {
        this(id, ino, family, type, protocol, state, src, srcPort, dst, dstPort, backlog, flags, opts, v6only, nodelay,
                freebind, false, stream);
    }

    @Override
    public byte[] src() {
        return src.clone();
    }

    @Override
    public byte[] dst() {
        return dst.clone();
    }

    public boolean isTcp() {
        return protocol == IPPROTO_TCP;
    }

    public boolean isListening() {
        return isTcp() && state == TCP_LISTEN;
    }

    /** A TCP socket with (or once with) a peer: restored closed, as CRIU's --tcp-close does. */
    public boolean isConnectedStream() {
        return isTcp() && state != TCP_LISTEN && state != TCP_CLOSE;
    }

    /** A UDP socket connect()ed to a peer. */
    public boolean isConnectedDatagram() {
        return !isTcp() && state == TCP_ESTABLISHED && dstPort != 0;
    }

    public boolean isWildcard() {
        for (byte b : src) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    /** The same socket bound to {@code newSrc} instead (an --ip-map). */
    public InetSocket withSrc(byte[] newSrc) {
        return new InetSocket(id, ino, family, type, protocol, state, newSrc, srcPort, dst, dstPort, backlog, flags, opts,
                v6only, nodelay, freebind, transparent, stream);
    }

    /** The same connection carrying {@code s} (its state and queues, dumped with --tcp-established). */
    public InetSocket withStream(TcpStream s) {
        return new InetSocket(id, ino, family, type, protocol, state, src, srcPort, dst, dstPort, backlog, flags, opts,
                v6only, nodelay, freebind, transparent, s);
    }

    /** An established connection dumped with --tcp-established: restore can carry it on alive. */
    public boolean isCarriedAlive() {
        return stream != null;
    }

    @Override
    public String describe() {
        String proto = (isTcp() ? "tcp" : "udp") + (family == AF_INET6 ? "6" : "");
        String what = isListening() ? " listening on " : isConnectedStream() ? " connection " : " bound to ";
        String local = endpoint(src, srcPort);
        return proto + what + local + (isConnectedStream() || isConnectedDatagram() ? " -> " + endpoint(dst, dstPort) : "");
    }

    private String endpoint(byte[] addr, int port) {
        String a = addressText(addr);
        return (family == AF_INET6 ? "[" + a + "]" : a) + ":" + port;
    }

    /** An address's bytes as text: "10.0.0.1", "::", "fe80::1" (RFC 5952's shortest form). */
    public static String addressText(byte[] a) {
        if (a.length == 4) {
            return (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
        }
        if (a.length != 16) {
            return Arrays.toString(a);
        }
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = (a[2 * i] & 0xff) << 8 | (a[2 * i + 1] & 0xff);
        }
        int bestAt = -1;
        int bestLen = 1; // a single zero group is not shortened
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestAt = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestAt) {
                b.append("::");
                i += bestLen - 1;
                continue;
            }
            if (b.length() > 0 && b.charAt(b.length() - 1) != ':') {
                b.append(':');
            }
            b.append(Integer.toHexString(g[i]));
        }
        return b.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InetSocket s && id == s.id && ino == s.ino && family == s.family && type == s.type
                && protocol == s.protocol && state == s.state && Arrays.equals(src, s.src) && srcPort == s.srcPort
                && Arrays.equals(dst, s.dst) && dstPort == s.dstPort && backlog == s.backlog && flags == s.flags
                && opts.equals(s.opts) && v6only == s.v6only && nodelay == s.nodelay && freebind == s.freebind
                && transparent == s.transparent
                && java.util.Objects.equals(stream, s.stream);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(ino) * 31 + id;
    }
}
