package io.lazymig.restore;

import io.lazymig.images.InetSocket;
import io.lazymig.images.TcpStream;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Sockets;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.TcpRepair;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An established TCP connection dumped with --tcp-established, rebuilt alive (restore
 * --tcp-established) as CRIU's restore_tcp_conn_state does: a socket made by restore itself, put
 * in TCP repair mode and behind a filter that drops every incoming segment; taken into the process
 * at once (pidfd_getfd injected), its options set there by injection (buffers before the queues,
 * as CRIU); then, on restore's copy, bound to the connection's local address (IP_TRANSPARENT while
 * in repair: the floating address may reach this host only after restore), both queues' first
 * sequence numbers, connect (no SYN in repair mode), the handshake's options (MSS, window scales,
 * SACK, timestamps), the timestamp clock, the receive queue and the sent part of the send queue
 * written back, the window. It stays so, silent, in {@link HeldConnections} until the whole
 * restore has succeeded: only then is it taken out of repair mode (a window probe to the peer) and
 * are the never-sent bytes sent normally. The peer sees neither a reset nor a second connection:
 * the same sequence numbers carry on.
 */
final class TcpConnectionOpener {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    private TcpConnectionOpener() {
    }

    /**
     * Opens connection {@code s} bound to {@code local} (its own address: the peer knows no other),
     * left in repair mode in {@code held}; returns the stub's fd.
     */
    static long open(Injector in, InetSocket s, byte[] local, String what, HeldConnections held) throws IOException {
        int family = s.family() == InetSocket.AF_INET ? Sockets.AF_INET : Sockets.AF_INET6;
        TcpStream t = s.stream();
        boolean nonblock = (s.flags() & FileDescriptor.O_NONBLOCK) != 0;
        FileDescriptor sk = TcpRepair.socket(family, Sockets.SOCK_STREAM | (nonblock ? Sockets.SOCK_NONBLOCK : 0),
                Sockets.IPPROTO_TCP);
        boolean kept = false;
        try {
            try {
                TcpRepair.setRepair(sk, 1);
            } catch (NativeException e) {
                throw new RestoreException("cannot restore " + what + " alive: TCP repair mode refused (" + e.getMessage()
                        + "; it needs CAP_NET_ADMIN)", e);
            }
            long got = take(in, sk, what);
            SocketOptionsWriter w = new SocketOptionsWriter(in, (int) got, what);
            w.apply(s.opts(), true);
            w.flag(Sockets.IPPROTO_IP, Sockets.IP_FREEBIND, "IP_FREEBIND", s.freebind());
            try {
                // SO_REUSEADDR (set above when the connection had it) replaced the forced reuse that repair
                // mode gives the socket, which lets it bind the port its restored listener holds: on again
                TcpRepair.setRepair(sk, 1);
                TcpRepair.attachDropFilter(sk);
                int level = family == Sockets.AF_INET ? Sockets.IPPROTO_IP : Sockets.IPPROTO_IPV6;
                int transparent = family == Sockets.AF_INET ? TcpRepair.IP_TRANSPARENT : TcpRepair.IPV6_TRANSPARENT;
                if (family == Sockets.AF_INET6) {
                    TcpRepair.setInt(sk, Sockets.IPPROTO_IPV6, Sockets.IPV6_V6ONLY, s.v6only() ? 1 : 0, "IPV6_V6ONLY");
                }
                TcpRepair.setInt(sk, level, transparent, 1, "IP_TRANSPARENT");
                bind(sk, family, local, s, what);
                TcpRepair.selectQueue(sk, TcpRepair.TCP_RECV_QUEUE);
                TcpRepair.setQueueSeq(sk, t.inqSeq() - t.inq().length);
                TcpRepair.selectQueue(sk, TcpRepair.TCP_SEND_QUEUE);
                TcpRepair.setQueueSeq(sk, t.outqSeq() - t.outq().length);
                TcpRepair.connect(sk, InetSocketOpener.sockaddr(family, s.dst(), s.dstPort()));
                TcpRepair.setOptions(sk, options(t));
                if (t.has(TcpStream.TCPI_OPT_TIMESTAMPS)) {
                    TcpRepair.setInt(sk, Sockets.IPPROTO_TCP, TcpRepair.TCP_TIMESTAMP, t.timestamp(), "TCP_TIMESTAMP");
                }
                byte[] outq = t.outq();
                int sent = outq.length - t.unsentLen();
                TcpRepair.selectQueue(sk, TcpRepair.TCP_RECV_QUEUE);
                write(sk, t.inq(), 0, t.inq().length, "the receive queue of " + what);
                TcpRepair.selectQueue(sk, TcpRepair.TCP_SEND_QUEUE);
                write(sk, outq, 0, sent, "the send queue of " + what);
                TcpRepair.selectQueue(sk, TcpRepair.TCP_NO_QUEUE);
                TcpRepair.setWindow(sk, new TcpRepair.Window(t.sndWl1(), t.sndWnd(), t.maxWindow(), t.rcvWnd(), t.rcvWup()));
                if (t.cork()) {
                    TcpRepair.setInt(sk, Sockets.IPPROTO_TCP, TcpRepair.TCP_CORK, 1, "TCP_CORK");
                }
                if (s.nodelay()) {
                    TcpRepair.setInt(sk, Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, 1, "TCP_NODELAY");
                }
            } catch (NativeException e) {
                throw new RestoreException("cannot restore " + what + " alive: " + e.getMessage(), e);
            }
            held.hold(sk, s, what);
            kept = true;
            log.info("restore: {}: restored alive ({}), held in repair mode until the restore succeeds", what,
                    t.describeQueues());
            return got;
        } finally {
            if (!kept) {
                sk.close(); // in repair mode (or never connected): nothing reaches the peer
            }
        }
    }

    /** Sends the bytes of {@code t}'s send queue the connection had never sent, once out of repair mode. */
    static void sendUnsent(FileDescriptor sk, TcpStream t, String what) throws IOException {
        byte[] outq = t.outq();
        write(sk, outq, outq.length - t.unsentLen(), t.unsentLen(), "the unsent bytes of " + what);
    }

    /** restore's socket {@code sk} taken into the process (pidfd_getfd injected): the same socket, a new fd there. */
    private static long take(Injector in, FileDescriptor sk, String what) throws IOException {
        long pidfd = in.call("pidfd_open(restore)", Syscalls.PIDFD_OPEN, ProcessHandle.current().pid(), 0);
        long got = in.raw(Syscalls.PIDFD_GETFD, pidfd, sk.fd(), 0);
        in.raw(Syscalls.CLOSE, pidfd);
        if (Syscalls.isError(got)) {
            throw new RestoreException("cannot take " + what + " into the process: pidfd_getfd: "
                    + Errno.name(Syscalls.errno(got)));
        }
        return got;
    }

    private static void bind(FileDescriptor sk, int family, byte[] local, InetSocket s, String what) throws IOException {
        try {
            TcpRepair.bind(sk, InetSocketOpener.sockaddr(family, local, s.srcPort()));
        } catch (NativeException e) {
            throw new RestoreException("cannot bind " + what + " to " + InetSocket.addressText(local) + " port "
                    + s.srcPort() + ": " + Errno.name(e.errno()), e);
        }
    }

    /** TCP_REPAIR_OPTIONS for what the handshake negotiated: the MSS always, window scales, SACK, timestamps. */
    static int[] options(TcpStream t) {
        List<Integer> v = new ArrayList<>(List.of(TcpRepair.TCPOPT_MAXSEG, t.mssClamp()));
        if (t.has(TcpStream.TCPI_OPT_WSCALE)) {
            v.addAll(List.of(TcpRepair.TCPOPT_WINDOW, t.sndWscale() | t.rcvWscale() << 16));
        }
        if (t.has(TcpStream.TCPI_OPT_SACK)) {
            v.addAll(List.of(TcpRepair.TCPOPT_SACK_PERMITTED, 0));
        }
        if (t.has(TcpStream.TCPI_OPT_TIMESTAMPS)) {
            v.addAll(List.of(TcpRepair.TCPOPT_TIMESTAMP, 0));
        }
        return v.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A chunk the kernel had no memory for is halved down to this; the largest SO_SNDBUF a queue may need. */
    private static final int MIN_CHUNK = 4096;
    private static final long MAX_SNDBUF = 1L << 30;

    /**
     * Writes {@code len} bytes from {@code off} into the selected queue (or, out of repair mode, sends
     * them), as CRIU's send_tcp_queue: a chunk the kernel has no memory for (ENOMEM: in repair mode a
     * receive-queue write is one skb of the chunk's size, charged against the receive buffer) is
     * halved, down to a page; a full send buffer (EAGAIN: the send queue held more at dump than the
     * socket's SO_SNDBUF takes now) is doubled with SO_SNDBUFFORCE until the bytes fit, then put back.
     */
    private static void write(FileDescriptor sk, byte[] data, int off, int len, String what) throws IOException {
        if (len == 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocateDirect(len);
        b.put(0, data, off, len);
        int chunk = len;
        long sndbufBefore = -1;
        try {
            while (b.hasRemaining()) {
                long n;
                int limit = Math.min(len, b.position() + chunk);
                try {
                    n = TcpRepair.send(sk, b.duplicate().limit(limit), Sockets.MSG_DONTWAIT);
                } catch (NativeException e) {
                    if (e.errno() == Errno.ENOMEM && chunk > MIN_CHUNK) {
                        chunk = Math.max(MIN_CHUNK, chunk / 2);
                        continue;
                    }
                    if (e.errno() == Errno.EAGAIN) {
                        long now = TcpRepair.getInt(sk, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, "SO_SNDBUF");
                        if (now < MAX_SNDBUF) {
                            sndbufBefore = sndbufBefore < 0 ? now : sndbufBefore;
                            TcpRepair.setInt(sk, Sockets.SOL_SOCKET, Sockets.SO_SNDBUFFORCE, (int) now, "SO_SNDBUFFORCE");
                            continue;
                        }
                    }
                    throw new RestoreException("cannot write " + what + " (" + b.position() + " of " + len
                            + " bytes written): " + e.getMessage(), e);
                }
                if (n <= 0) {
                    throw new RestoreException("cannot write " + what + ": the socket took nothing after " + b.position()
                            + " of " + len + " bytes");
                }
                b.position(b.position() + (int) n);
            }
        } finally {
            if (sndbufBefore >= 0) {
                TcpRepair.setInt(sk, Sockets.SOL_SOCKET, Sockets.SO_SNDBUFFORCE, (int) (sndbufBefore / 2), "SO_SNDBUFFORCE");
            }
        }
    }
}
