package io.lazymig.jni;

import java.nio.ByteBuffer;

/**
 * TCP repair (CAP_NET_ADMIN) on a socket fd of this process: the calls that carry an established
 * TCP connection alive across a migration, as CRIU's sk-tcp.c makes them. At dump the fd is a copy
 * of the frozen process's socket (pidfd_getfd): {@link #attachDropFilter} stops incoming segments,
 * {@link #setRepair} keeps the socket silent, and the queues, sequence numbers, window and options
 * are read. At restore a new socket made here is put in repair mode, given all of that back, and
 * taken by the restored process. The methods throw {@link NativeException} naming the call.
 */
public final class TcpRepair {
    static {
        NativeLibrary.load();
    }

    public static final int TCP_REPAIR = (int) constant("TCP_REPAIR");
    public static final int TCP_REPAIR_QUEUE = (int) constant("TCP_REPAIR_QUEUE");
    public static final int TCP_QUEUE_SEQ = (int) constant("TCP_QUEUE_SEQ");
    public static final int TCP_TIMESTAMP = (int) constant("TCP_TIMESTAMP");
    public static final int TCP_MAXSEG = (int) constant("TCP_MAXSEG");
    public static final int TCP_CORK = (int) constant("TCP_CORK");
    public static final int TCP_NO_QUEUE = (int) constant("TCP_NO_QUEUE");
    public static final int TCP_RECV_QUEUE = (int) constant("TCP_RECV_QUEUE");
    public static final int TCP_SEND_QUEUE = (int) constant("TCP_SEND_QUEUE");
    /** TCP_REPAIR's value that leaves repair mode without the window probe TCP_REPAIR=0 sends. */
    public static final int TCP_REPAIR_OFF_NO_WP = (int) constant("TCP_REPAIR_OFF_NO_WP");
    public static final int TCPOPT_MAXSEG = (int) constant("TCPOPT_MAXSEG");
    public static final int TCPOPT_WINDOW = (int) constant("TCPOPT_WINDOW");
    public static final int TCPOPT_SACK_PERMITTED = (int) constant("TCPOPT_SACK_PERMITTED");
    public static final int TCPOPT_TIMESTAMP = (int) constant("TCPOPT_TIMESTAMP");
    /** tcp_info's tcpi_options bits, which CRIU stores as tcp_stream_entry.opt_mask. */
    public static final int TCPI_OPT_TIMESTAMPS = (int) constant("TCPI_OPT_TIMESTAMPS");
    public static final int TCPI_OPT_SACK = (int) constant("TCPI_OPT_SACK");
    public static final int TCPI_OPT_WSCALE = (int) constant("TCPI_OPT_WSCALE");
    public static final int IP_TRANSPARENT = (int) constant("IP_TRANSPARENT");
    public static final int IPV6_TRANSPARENT = (int) constant("IPV6_TRANSPARENT");
    private static final int SIOCINQ = (int) constant("SIOCINQ");
    private static final int SIOCOUTQ = (int) constant("SIOCOUTQ");
    private static final int SIOCOUTQNSD = (int) constant("SIOCOUTQNSD");

    /** tcp_info's negotiated options (TCPI_OPT_*), window scales and state. */
    public record Info(int options, int sndWscale, int rcvWscale, int state) {
    }

    /** TCP_REPAIR_WINDOW's five values, unsigned 32-bit each. */
    public record Window(int sndWl1, int sndWnd, int maxWindow, int rcvWnd, int rcvWup) {
    }

    private TcpRepair() {
    }

    /** socket(family, type | SOCK_CLOEXEC, protocol), owned by the caller. */
    public static FileDescriptor socket(int family, int type, int protocol) throws NativeException {
        return new FileDescriptor(NativeException.check("socket(" + family + ", " + type + ")",
                nativeSocket(family, type, protocol)));
    }

    /** setsockopt(level, name) of an int. */
    public static void setInt(FileDescriptor fd, int level, int name, int value, String what) throws NativeException {
        NativeException.check("setsockopt(" + what + ", " + value + ")", nativeSetInt(fd.fd(), level, name, value));
    }

    /** getsockopt(level, name) of an int, as an unsigned 32-bit value. */
    public static long getInt(FileDescriptor fd, int level, int name, String what) throws NativeException {
        return NativeException.check("getsockopt(" + what + ")", nativeGetInt(fd.fd(), level, name));
    }

    /** TCP_REPAIR on (1), off (0, with a window probe) or off without the probe ({@link #TCP_REPAIR_OFF_NO_WP}). */
    public static void setRepair(FileDescriptor fd, int mode) throws NativeException {
        setInt(fd, Sockets.IPPROTO_TCP, TCP_REPAIR, mode, "TCP_REPAIR");
    }

    /** Selects the queue ({@link #TCP_RECV_QUEUE}, {@link #TCP_SEND_QUEUE}) the next repair calls act on. */
    public static void selectQueue(FileDescriptor fd, int queue) throws NativeException {
        setInt(fd, Sockets.IPPROTO_TCP, TCP_REPAIR_QUEUE, queue, "TCP_REPAIR_QUEUE");
    }

    /** The selected queue's sequence number (rcv_nxt, or write_seq), unsigned. */
    public static long queueSeq(FileDescriptor fd) throws NativeException {
        return getInt(fd, Sockets.IPPROTO_TCP, TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ");
    }

    /** Sets the selected queue's first sequence number (before connect). */
    public static void setQueueSeq(FileDescriptor fd, long seq) throws NativeException {
        setInt(fd, Sockets.IPPROTO_TCP, TCP_QUEUE_SEQ, (int) seq, "TCP_QUEUE_SEQ");
    }

    /** Bytes not yet read by the application. */
    public static int inq(FileDescriptor fd) throws NativeException {
        return (int) NativeException.check("ioctl(SIOCINQ)", nativeQueueLen(fd.fd(), SIOCINQ));
    }

    /** Bytes in the send queue, sent (not acknowledged) and unsent. */
    public static int outq(FileDescriptor fd) throws NativeException {
        return (int) NativeException.check("ioctl(SIOCOUTQ)", nativeQueueLen(fd.fd(), SIOCOUTQ));
    }

    /** Bytes in the send queue never sent. */
    public static int unsentq(FileDescriptor fd) throws NativeException {
        return (int) NativeException.check("ioctl(SIOCOUTQNSD)", nativeQueueLen(fd.fd(), SIOCOUTQNSD));
    }

    public static Info info(FileDescriptor fd) throws NativeException {
        int[] v = new int[4];
        NativeException.check("getsockopt(TCP_INFO)", nativeInfo(fd.fd(), v));
        return new Info(v[0], v[1], v[2], v[3]);
    }

    public static Window window(FileDescriptor fd) throws NativeException {
        int[] v = new int[5];
        NativeException.check("getsockopt(TCP_REPAIR_WINDOW)", nativeGetWindow(fd.fd(), v));
        return new Window(v[0], v[1], v[2], v[3], v[4]);
    }

    public static void setWindow(FileDescriptor fd, Window w) throws NativeException {
        NativeException.check("setsockopt(TCP_REPAIR_WINDOW)", nativeSetWindow(fd.fd(),
                new int[] {w.sndWl1(), w.sndWnd(), w.maxWindow(), w.rcvWnd(), w.rcvWup()}));
    }

    /** TCP_REPAIR_OPTIONS: (TCPOPT_* code, value) pairs, at most four. */
    public static void setOptions(FileDescriptor fd, int[] codeValuePairs) throws NativeException {
        NativeException.check("setsockopt(TCP_REPAIR_OPTIONS)", nativeSetOptions(fd.fd(), codeValuePairs));
    }

    /** recv into {@code buf} from its position to its limit; returns the count (the position is not moved). */
    public static long recv(FileDescriptor fd, ByteBuffer buf, int flags) throws NativeException {
        return NativeException.check("recv", nativeRecv(fd.fd(), Buffers.address(buf) + buf.position(), buf.remaining(),
                flags));
    }

    /** send from {@code buf}'s position to its limit; returns the count (the position is not moved). */
    public static long send(FileDescriptor fd, ByteBuffer buf, int flags) throws NativeException {
        return NativeException.check("send", nativeSend(fd.fd(), Buffers.address(buf) + buf.position(), buf.remaining(),
                flags));
    }

    /** bind to the sockaddr in {@code addr} (a direct buffer, position 0 to limit). */
    public static void bind(FileDescriptor fd, ByteBuffer addr) throws NativeException {
        NativeException.check("bind", nativeBind(fd.fd(), Buffers.address(addr), addr.limit()));
    }

    /** connect to the sockaddr in {@code addr}; in repair mode no SYN is sent. */
    public static void connect(FileDescriptor fd, ByteBuffer addr) throws NativeException {
        NativeException.check("connect", nativeConnect(fd.fd(), Buffers.address(addr), addr.limit()));
    }

    /** Attaches a socket filter that accepts nothing: every incoming segment is dropped unprocessed (no ACK, no RST). */
    public static void attachDropFilter(FileDescriptor fd) throws NativeException {
        NativeException.check("setsockopt(SO_ATTACH_FILTER)", nativeAttachDropFilter(fd.fd()));
    }

    public static void detachFilter(FileDescriptor fd) throws NativeException {
        NativeException.check("setsockopt(SO_DETACH_FILTER)", nativeDetachFilter(fd.fd()));
    }

    /** The length of the classic BPF filter the socket has (0: none). */
    public static int filterLength(FileDescriptor fd) throws NativeException {
        return NativeException.check("getsockopt(SO_GET_FILTER)", nativeFilterLength(fd.fd()));
    }

    private static native long constant(String name);

    private static native int nativeSocket(int family, int type, int protocol);

    private static native int nativeSetInt(int fd, int level, int name, int value);

    private static native long nativeGetInt(int fd, int level, int name);

    private static native long nativeQueueLen(int fd, int request);

    private static native int nativeInfo(int fd, int[] out);

    private static native int nativeGetWindow(int fd, int[] out);

    private static native int nativeSetWindow(int fd, int[] in);

    private static native int nativeSetOptions(int fd, int[] pairs);

    private static native long nativeRecv(int fd, long address, long len, int flags);

    private static native long nativeSend(int fd, long address, long len, int flags);

    private static native int nativeBind(int fd, long address, int len);

    private static native int nativeConnect(int fd, long address, int len);

    private static native int nativeAttachDropFilter(int fd);

    private static native int nativeDetachFilter(int fd);

    private static native int nativeFilterLength(int fd);
}
