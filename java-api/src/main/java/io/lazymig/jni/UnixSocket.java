package io.lazymig.jni;

import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An AF_UNIX socket (stream or seqpacket) with SCM_RIGHTS fd passing: the channel between
 * restore and the lazy-pages daemon (CRIU's {@code lazy-pages.socket}: an int32 pid, then one
 * dummy byte carrying the uffd, ..., then a 4-byte "restore finished" word).
 *
 * <p>Every socket is created close-on-exec. Sends use {@code MSG_NOSIGNAL} (a closed peer is
 * an {@code EPIPE} NativeException, never a SIGPIPE). Interrupted calls ({@code EINTR}) are
 * retried in C.
 *
 * <p><b>"Nothing arrived" versus errors.</b> {@link #accept()} and {@link #receive} return
 * {@code null} when the call would block ({@code EAGAIN}): on a non-blocking socket with
 * nothing pending, or when the receive timeout ({@link #setReceiveTimeout}) elapsed. Every
 * other failure, including {@code EAGAIN} from a send or in the middle of
 * {@link #sendFully}/{@link #receiveFully}, is a {@link NativeException} naming the call and
 * errno.
 *
 * <p><b>Threads.</b> One thread may receive while another sends. {@link #close()} must not
 * race with a call in progress on another thread (the fd number could be reused); call
 * {@link #shutdown(int)} first to wake a blocked receiver or acceptor.
 */
public final class UnixSocket implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    public static final int AF_UNIX = (int) constant("AF_UNIX");
    public static final int SOCK_STREAM = (int) constant("SOCK_STREAM");
    public static final int SOCK_SEQPACKET = (int) constant("SOCK_SEQPACKET");
    /** Always added by this class; callers need not pass it. */
    public static final int SOCK_CLOEXEC = (int) constant("SOCK_CLOEXEC");
    /** May be OR-ed into the type given to {@link #socketPair}, {@link #listen} or {@link #connect}. */
    public static final int SOCK_NONBLOCK = (int) constant("SOCK_NONBLOCK");
    public static final int MSG_NOSIGNAL = (int) constant("MSG_NOSIGNAL");
    public static final int MSG_CMSG_CLOEXEC = (int) constant("MSG_CMSG_CLOEXEC");
    public static final int MSG_CTRUNC = (int) constant("MSG_CTRUNC");
    public static final int MSG_TRUNC = (int) constant("MSG_TRUNC");
    public static final int SHUT_RD = (int) constant("SHUT_RD");
    public static final int SHUT_WR = (int) constant("SHUT_WR");
    public static final int SHUT_RDWR = (int) constant("SHUT_RDWR");
    /** {@code sizeof(sun_path)}; a pathname must be shorter (its NUL terminator needs a byte). */
    public static final int SUN_PATH_MAX = (int) constant("SUN_PATH_MAX");
    /** Most fds in one SCM_RIGHTS message: the kernel's SCM_MAX_FD (253). */
    public static final int MAX_FDS = (int) constant("SCM_MAX_FD");

    private static final int SO_RCVTIMEO = (int) constant("SO_RCVTIMEO");
    private static final int SO_SNDTIMEO = (int) constant("SO_SNDTIMEO");
    /** Slots of the int[] that nativeRecvmsg fills. */
    private static final int RECV_FLAGS = (int) constant("RECV_FLAGS");
    private static final int RECV_NFDS = (int) constant("RECV_NFDS");
    private static final int RECV_FDS = (int) constant("RECV_FDS");
    private static final int TYPE_FLAGS = SOCK_CLOEXEC | SOCK_NONBLOCK;

    /** The peer's process and user at connect (or socketpair) time, from SO_PEERCRED. */
    public record Credentials(int pid, int uid, int gid) {
    }

    /** Both ends of a {@link #socketPair}; closing the pair closes both. */
    public record Pair(UnixSocket first, UnixSocket second) implements AutoCloseable {
        @Override
        public void close() {
            first.close();
            second.close();
        }
    }

    private final FileDescriptor fd;
    /** What this socket is, for messages: "socketpair", "listening on P", "connected to P", ... */
    private final String role;

    private UnixSocket(FileDescriptor fd, String role) {
        this.fd = fd;
        this.role = role;
    }

    /** Takes ownership of an fd that is already an AF_UNIX socket (e.g. inherited or received). */
    public static UnixSocket adopt(FileDescriptor fd) {
        if (fd == null) {
            throw new IllegalArgumentException("fd is null");
        }
        return new UnixSocket(fd, "adopted");
    }

    /** socketpair(AF_UNIX, type | SOCK_CLOEXEC): two connected sockets. */
    public static Pair socketPair(int type) throws NativeException {
        checkType(type);
        int[] sv = new int[2];
        NativeException.check("socketpair(AF_UNIX, " + typeName(type) + ")", nativeSocketPair(type | SOCK_CLOEXEC, sv));
        return new Pair(new UnixSocket(new FileDescriptor(sv[0]), "socketpair"),
                new UnixSocket(new FileDescriptor(sv[1]), "socketpair"));
    }

    /** A SOCK_STREAM socket listening on {@code path}; see {@link #listen(Path, int, int)}. */
    public static UnixSocket listen(Path path, int backlog) throws NativeException {
        return listen(path, SOCK_STREAM, backlog);
    }

    /**
     * A socket bound to the pathname {@code path} and listening. A leftover <em>socket</em>
     * file at {@code path} is unlinked first (like CRIU's lazy-pages daemon; a live listener
     * there loses its name). Anything else at {@code path} (regular file, directory, symlink)
     * is never removed: that is an {@code EEXIST} NativeException. A relative path is resolved
     * against this process's working directory by the kernel.
     *
     * @throws IllegalArgumentException if the path does not fit in {@code sun_path}
     *     ({@link #SUN_PATH_MAX} - 1 bytes at most) or contains a NUL byte
     */
    public static UnixSocket listen(Path path, int type, int backlog) throws NativeException {
        checkType(type);
        if (backlog < 0) {
            throw new IllegalArgumentException("negative backlog " + backlog);
        }
        byte[] address = pathBytes(path);
        int stale = nativeUnlinkStale(address);
        if (stale == -Errno.EEXIST) {
            throw new NativeException("listen(" + path + "): the path exists and is not a socket; not removed",
                    Errno.EEXIST);
        }
        NativeException.check("unlink stale socket " + path, stale);
        FileDescriptor fd = newSocket(type);
        // the messages first: between the bind, which makes the path, and the listen, a connect is
        // refused, and a cold JVM's first string concatenation there took long enough for a restore
        // waiting for the path (--wait-daemon) to connect in between (LazyRestoreIT)
        String bindCall = "bind(" + path + ")";
        String listenCall = "listen(" + path + ", " + backlog + ")";
        try {
            int bound = nativeBind(fd.fd(), address);
            int listening = bound == 0 ? nativeListen(fd.fd(), backlog) : 0;
            NativeException.check(bindCall, bound);
            NativeException.check(listenCall, listening);
        } catch (NativeException | RuntimeException e) {
            fd.close();
            throw e;
        }
        return new UnixSocket(fd, "listening on " + path);
    }

    /** A SOCK_STREAM socket connected to the listener at {@code path}. */
    public static UnixSocket connect(Path path) throws NativeException {
        return connect(path, SOCK_STREAM);
    }

    /**
     * A socket of {@code type} connected to the listener at {@code path} (ENOENT if nothing is
     * there, ECONNREFUSED if nobody listens).
     *
     * @throws IllegalArgumentException if the path does not fit in {@code sun_path}
     */
    public static UnixSocket connect(Path path, int type) throws NativeException {
        checkType(type);
        byte[] address = pathBytes(path);
        FileDescriptor fd = newSocket(type);
        try {
            NativeException.check("connect(" + path + ")", nativeConnect(fd.fd(), address));
        } catch (NativeException | RuntimeException e) {
            fd.close();
            throw e;
        }
        return new UnixSocket(fd, "connected to " + path);
    }

    /**
     * accept4(SOCK_CLOEXEC): the next connection, as a new blocking socket the caller owns.
     * Returns {@code null} if none is pending on a non-blocking listener, or none came within
     * the receive timeout. After {@link #shutdown(int)} of the listener, a blocked accept fails
     * with EINVAL.
     */
    public UnixSocket accept() throws NativeException {
        int f = fd("accept");
        int rc = nativeAccept(f);
        if (rc == -Errno.EAGAIN) {
            return null;
        }
        NativeException.check("accept(" + describe(f) + ")", rc);
        return new UnixSocket(new FileDescriptor(rc), "accepted from " + role);
    }

    /** {@link #send(ByteBuffer, int[])} without fds. */
    public int send(ByteBuffer buf) throws NativeException {
        return send(buf, new int[0]);
    }

    /**
     * ONE sendmsg(2) of {@code buf}'s remaining bytes, with {@code fds} as one SCM_RIGHTS
     * control message. The fds stay owned by the caller (the kernel passes duplicates; closing
     * ours after the send is fine). Advances {@code buf}'s position by the bytes sent.
     *
     * <p>A stream socket may send fewer bytes than asked; the fds travel with the first byte.
     * At least one byte must be sent with fds: the kernel drops fds sent with no data on a
     * stream socket, which is why CRIU sends one dummy byte.
     *
     * @param buf a direct buffer
     * @param fds at most {@link #MAX_FDS} open fds (null or empty for none)
     * @return bytes sent
     */
    public int send(ByteBuffer buf, int[] fds) throws NativeException {
        int[] passed = fds == null ? new int[0] : fds;
        if (passed.length > MAX_FDS) {
            throw new IllegalArgumentException(passed.length + " fds in one message; the kernel allows " + MAX_FDS);
        }
        for (int f : passed) {
            if (f < 0) {
                throw new IllegalArgumentException("not a file descriptor: " + f);
            }
        }
        long address = Buffers.address(buf);
        if (passed.length > 0 && !buf.hasRemaining()) {
            throw new IllegalArgumentException("fds need at least one data byte to travel with");
        }
        int f = fd("sendmsg");
        long n = NativeException.check(
                "sendmsg(" + describe(f) + ", " + buf.remaining() + " bytes, " + passed.length + " fds)",
                nativeSendmsg(f, address + buf.position(), buf.remaining(), passed, passed.length, MSG_NOSIGNAL));
        buf.position(buf.position() + (int) n);
        return (int) n;
    }

    /**
     * ONE recvmsg(2) into {@code buf}'s remaining space, accepting up to {@code maxFds} fds
     * (received with {@code MSG_CMSG_CLOEXEC}). Advances {@code buf}'s position by the bytes
     * read. The returned message owns the new fds, and the caller owns the message (see
     * {@link ReceivedMessage}).
     *
     * <p>If the sender passed more fds than {@code maxFds}, or this process could not take
     * them all (fd table full), the kernel flags MSG_CTRUNC: this is an {@code EMSGSIZE}
     * NativeException, and every fd that did arrive has been closed. The control buffer is
     * sized exactly for {@code maxFds} fds so the kernel never installs more. A seqpacket
     * record longer than the buffer (MSG_TRUNC) is the same error.
     *
     * @param buf a direct buffer with at least one byte of space
     * @param maxFds 0 to {@link #MAX_FDS}
     * @return the message (bytes 0 means end of stream), or {@code null} if nothing arrived
     *     (non-blocking socket, or receive timeout elapsed)
     */
    public ReceivedMessage receive(ByteBuffer buf, int maxFds) throws NativeException {
        if (maxFds < 0 || maxFds > MAX_FDS) {
            throw new IllegalArgumentException("maxFds " + maxFds + " outside 0.." + MAX_FDS);
        }
        long address = writableAddress(buf);
        if (!buf.hasRemaining()) {
            throw new IllegalArgumentException("no space left in the buffer (a 0-byte read would look like EOF)");
        }
        int f = fd("recvmsg");
        String call = "recvmsg(" + describe(f) + ", " + buf.remaining() + " bytes, max " + maxFds + " fds)";
        int[] out = new int[RECV_FDS + maxFds];
        long n = nativeRecvmsg(f, address + buf.position(), buf.remaining(), maxFds, 0, out);
        if (n == -Errno.EAGAIN) {
            return null;
        }
        NativeException.check(call, n);
        checkTruncation(call, out[RECV_FLAGS], maxFds);
        List<FileDescriptor> fds = new ArrayList<>(out[RECV_NFDS]);
        for (int i = 0; i < out[RECV_NFDS]; i++) {
            fds.add(new FileDescriptor(out[RECV_FDS + i]));
        }
        buf.position(buf.position() + (int) n);
        return new ReceivedMessage((int) n, fds);
    }

    /**
     * Sends all of {@code buf}'s remaining bytes (no fds), in as many send calls as needed;
     * for fixed-size records such as an int32 pid. A send timeout or a non-blocking socket's
     * full buffer is an {@code EAGAIN} NativeException.
     */
    public void sendFully(ByteBuffer buf) throws NativeException {
        long address = Buffers.address(buf);
        int f = fd("send");
        int total = buf.remaining();
        while (buf.hasRemaining()) {
            long n = NativeException.check(
                    "send(" + describe(f) + ", " + (total - buf.remaining()) + " of " + total + " bytes sent)",
                    nativeSendmsg(f, address + buf.position(), buf.remaining(), null, 0, MSG_NOSIGNAL));
            buf.position(buf.position() + (int) n);
        }
    }

    /**
     * Fills {@code buf}'s remaining space exactly (as many recv calls as needed), for
     * fixed-size records. Accepts no fds: fds sent alongside these bytes are an
     * {@code EMSGSIZE} NativeException (and closed). A receive timeout or an empty
     * non-blocking socket is an {@code EAGAIN} NativeException.
     *
     * @throws EOFException if the stream ends first (also before the first byte), naming how
     *     many bytes had arrived
     */
    public void receiveFully(ByteBuffer buf) throws NativeException, EOFException {
        long address = writableAddress(buf);
        int f = fd("recv");
        int total = buf.remaining();
        int[] out = new int[RECV_FDS];
        while (buf.hasRemaining()) {
            String call = "recv(" + describe(f) + ", " + (total - buf.remaining()) + " of " + total + " bytes received)";
            long n = NativeException.check(call, nativeRecvmsg(f, address + buf.position(), buf.remaining(), 0, 0, out));
            checkTruncation(call, out[RECV_FLAGS], 0);
            if (n == 0) {
                throw new EOFException(call + ": end of stream, expected " + total + " bytes");
            }
            buf.position(buf.position() + (int) n);
        }
    }

    /** SO_PEERCRED: who is on the other end (as of connect or socketpair). */
    public Credentials peerCredentials() throws NativeException {
        int f = fd("getsockopt(SO_PEERCRED)");
        int[] out = new int[3];
        NativeException.check("getsockopt(" + describe(f) + ", SO_PEERCRED)", nativePeerCredentials(f, out));
        return new Credentials(out[0], out[1], out[2]);
    }

    /**
     * SO_RCVTIMEO: receives and accepts give up after {@code timeout} ({@link #receive} and
     * {@link #accept} then return null). {@link Duration#ZERO} means wait forever (the default).
     */
    public void setReceiveTimeout(Duration timeout) throws NativeException {
        setTimeout("SO_RCVTIMEO", SO_RCVTIMEO, timeout);
    }

    /** SO_SNDTIMEO: sends give up after {@code timeout} with EAGAIN; ZERO means wait forever. */
    public void setSendTimeout(Duration timeout) throws NativeException {
        setTimeout("SO_SNDTIMEO", SO_SNDTIMEO, timeout);
    }

    /** Sets or clears O_NONBLOCK. */
    public void setNonBlocking(boolean nonBlocking) throws NativeException {
        fd("fcntl(O_NONBLOCK)");
        int flags = fd.statusFlags();
        int wanted = nonBlocking ? flags | FileDescriptor.O_NONBLOCK : flags & ~FileDescriptor.O_NONBLOCK;
        if (wanted != flags) {
            fd.setStatusFlags(wanted);
        }
    }

    /**
     * shutdown(2) with {@link #SHUT_RD}, {@link #SHUT_WR} or {@link #SHUT_RDWR}. SHUT_WR makes
     * the peer's reads see end of stream; SHUT_RD wakes a receiver blocked on this socket
     * (it sees end of stream) and an acceptor blocked on a listener (EINVAL).
     */
    public void shutdown(int how) throws NativeException {
        if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) {
            throw new IllegalArgumentException("shutdown: not SHUT_RD, SHUT_WR or SHUT_RDWR: " + how);
        }
        int f = fd("shutdown");
        NativeException.check("shutdown(" + describe(f) + ", " + how + ")", nativeShutdown(f, how));
    }

    /** The socket's fd, still owned by this socket (for poll; do not close it directly). */
    public FileDescriptor fd() {
        return fd;
    }

    public boolean isOpen() {
        return fd.isOpen();
    }

    /** Closes the socket once; later calls do nothing. A listener's socket file is left in place. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "UnixSocket(" + fd + ", " + role + ")";
    }

    private void setTimeout(String name, int option, Duration timeout) throws NativeException {
        if (timeout == null || timeout.isNegative()) {
            throw new IllegalArgumentException(name + ": timeout must be zero or positive, got " + timeout);
        }
        long seconds = timeout.getSeconds();
        long micros = timeout.getNano() / 1000;
        if (seconds == 0 && micros == 0 && !timeout.isZero()) {
            micros = 1; // under a microsecond: round up, 0 would mean "no timeout"
        }
        int f = fd("setsockopt(" + name + ")");
        NativeException.check("setsockopt(" + describe(f) + ", " + name + ", " + timeout + ")",
                nativeSetTimeout(f, option, seconds, micros));
    }

    private static void checkTruncation(String call, int flags, int maxFds) throws NativeException {
        if ((flags & MSG_CTRUNC) != 0) {
            throw new NativeException(call + ": fds not all received (MSG_CTRUNC: more than " + maxFds
                    + " sent, or the fd table is full); those that arrived were closed", Errno.EMSGSIZE);
        }
        if ((flags & MSG_TRUNC) != 0) {
            throw new NativeException(call + ": record longer than the buffer (MSG_TRUNC); its fds were closed",
                    Errno.EMSGSIZE);
        }
    }

    /** A direct, writable buffer's address: the kernel writes received bytes there. */
    private static long writableAddress(ByteBuffer buf) {
        long address = Buffers.address(buf);
        if (buf.isReadOnly()) {
            throw new IllegalArgumentException("cannot receive into a read-only buffer");
        }
        return address;
    }

    /** The fd number, or a NativeException naming {@code call} once the socket is closed. */
    private int fd(String call) throws NativeException {
        if (!fd.isOpen()) {
            throw new NativeException(call + " on a closed socket (" + role + ")", Errno.EBADF);
        }
        return fd.fd();
    }

    private String describe(int f) {
        return "fd " + f + ", " + role;
    }

    private static FileDescriptor newSocket(int type) throws NativeException {
        int rc = nativeSocket(type | SOCK_CLOEXEC);
        return new FileDescriptor(NativeException.check("socket(AF_UNIX, " + typeName(type) + ")", rc));
    }

    private static void checkType(int type) {
        int base = type & ~TYPE_FLAGS;
        if (base != SOCK_STREAM && base != SOCK_SEQPACKET) {
            throw new IllegalArgumentException("socket type must be SOCK_STREAM or SOCK_SEQPACKET "
                    + "(optionally | SOCK_NONBLOCK | SOCK_CLOEXEC), got " + type);
        }
    }

    private static String typeName(int type) {
        String name = (type & ~TYPE_FLAGS) == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_SEQPACKET";
        return (type & SOCK_NONBLOCK) != 0 ? name + "|SOCK_NONBLOCK" : name;
    }

    /** The path's bytes as the JDK encodes file names, checked against sun_path. */
    static byte[] pathBytes(Path path) {
        if (path == null) {
            throw new IllegalArgumentException("socket path is null");
        }
        String text = path.toString();
        byte[] bytes = text.getBytes(fileNameCharset());
        if (bytes.length == 0) {
            throw new IllegalArgumentException("empty socket path");
        }
        for (byte b : bytes) {
            if (b == 0) {
                throw new IllegalArgumentException("socket path contains a NUL byte: " + text);
            }
        }
        if (bytes.length >= SUN_PATH_MAX) {
            throw new IllegalArgumentException("socket path is " + bytes.length + " bytes; sun_path holds at most "
                    + (SUN_PATH_MAX - 1) + " plus its NUL: " + text);
        }
        return bytes;
    }

    private static Charset fileNameCharset() {
        String name = System.getProperty("sun.jnu.encoding");
        try {
            return name != null ? Charset.forName(name) : Charset.defaultCharset();
        } catch (IllegalArgumentException e) {
            return Charset.defaultCharset();
        }
    }

    private static native long constant(String name);

    private static native int nativeSocket(int type);

    private static native int nativeSocketPair(int type, int[] out);

    private static native int nativeBind(int fd, byte[] path);

    private static native int nativeConnect(int fd, byte[] path);

    private static native int nativeUnlinkStale(byte[] path);

    private static native int nativeListen(int fd, int backlog);

    private static native int nativeAccept(int fd);

    private static native long nativeSendmsg(int fd, long address, long len, int[] fds, int nfds, int flags);

    private static native long nativeRecvmsg(int fd, long address, long len, int maxFds, int flags, int[] out);

    private static native int nativePeerCredentials(int fd, int[] out);

    private static native int nativeSetTimeout(int fd, int option, long seconds, long micros);

    private static native int nativeShutdown(int fd, int how);
}
