package io.lazymig.restore;

import io.lazymig.images.InetSocket;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Sockets;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.TcpRepair;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP or UDP socket, rebuilt by injected syscalls: socket (non-blocking as it was), its options,
 * IP_TRANSPARENT as it was (before bind: a transparent socket may bind an address this host lacks);
 * bind to the same port and address (a wildcard stays wildcard; --ip-map moves an address), listen
 * with its backlog, connect for a connected UDP socket. A TCP connection is restored closed (CRIU's
 * --tcp-close): a new socket that never connects, so the application's next read fails with
 * ENOTCONN, a write with EPIPE, and poll reports POLLHUP; its fd number and options are kept.
 */
final class InetSocketOpener implements FileOpener<InetSocket> {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    private final IpMap ipMap;
    private final HeldConnections held;

    /** {@code held}: where connections restored alive wait for the end of restore; null restores them closed. */
    InetSocketOpener(IpMap ipMap, HeldConnections held) {
        this.ipMap = ipMap;
        this.held = held;
    }

    @Override
    public Class<InetSocket> kind() {
        return InetSocket.class;
    }

    @Override
    public long open(Injector in, InetSocket s, int fd, ParkedStdio stdio) throws IOException {
        String what = "fd " + fd + " (" + s.describe() + ")";
        if (s.isCarriedAlive() && held != null) {
            if (ipMap.maps(s.src())) {
                log.warn("restore: {}: --ip-map does not apply to a connection restored alive: its peer knows it by {}, "
                        + "so that address stays", what, InetSocket.addressText(s.src()));
            }
            return TcpConnectionOpener.open(in, s, s.src(), what, held);
        }
        if (s.isCarriedAlive()) {
            log.info("restore: {}: dumped with --tcp-established, restored closed (restore without --tcp-established)",
                    what);
        }
        int family = s.family() == InetSocket.AF_INET ? Sockets.AF_INET : Sockets.AF_INET6;
        int type = (s.isTcp() ? Sockets.SOCK_STREAM : Sockets.SOCK_DGRAM)
                | ((s.flags() & FileDescriptor.O_NONBLOCK) != 0 ? Sockets.SOCK_NONBLOCK : 0);
        long sfd = in.raw(Syscalls.SOCKET, family, type, s.isTcp() ? Sockets.IPPROTO_TCP : Sockets.IPPROTO_UDP);
        if (Syscalls.isError(sfd)) {
            throw new RestoreException("cannot create socket " + what + ": " + Errno.name(Syscalls.errno(sfd)));
        }
        SocketOptionsWriter w = new SocketOptionsWriter(in, (int) sfd, what);
        w.apply(s.opts(), s.isTcp());
        if (s.family() == InetSocket.AF_INET6) {
            w.set(Sockets.IPPROTO_IPV6, Sockets.IPV6_V6ONLY, "IPV6_V6ONLY", s.v6only() ? 1 : 0);
        }
        w.flag(Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, "TCP_NODELAY", s.isTcp() && s.nodelay());
        w.flag(Sockets.IPPROTO_IP, Sockets.IP_FREEBIND, "IP_FREEBIND", s.freebind());
        if (s.family() == InetSocket.AF_INET6) {
            w.flag(Sockets.IPPROTO_IPV6, TcpRepair.IPV6_TRANSPARENT, "IPV6_TRANSPARENT", s.transparent());
        } else {
            w.flag(Sockets.IPPROTO_IP, TcpRepair.IP_TRANSPARENT, "IP_TRANSPARENT", s.transparent());
        }
        if (s.isConnectedStream()) {
            return sfd; // closed: never bound, never connected
        }
        if (s.srcPort() != 0 || s.isListening()) {
            bind(in, (int) sfd, s, what);
        }
        if (s.isListening()) {
            in.call("listen " + what, Syscalls.LISTEN, sfd, s.backlog());
        }
        if (s.isConnectedDatagram()) {
            in.resetScratch();
            long at = in.put(sockaddr(family, s.dst(), s.dstPort()));
            long rc = in.raw(Syscalls.CONNECT, sfd, at, addrLen(family));
            if (Syscalls.isError(rc)) {
                throw new RestoreException("cannot connect " + what + ": " + Errno.name(Syscalls.errno(rc)));
            }
        }
        return sfd;
    }

    private void bind(Injector in, int sfd, InetSocket s, String what) throws IOException {
        int family = s.family() == InetSocket.AF_INET ? Sockets.AF_INET : Sockets.AF_INET6;
        byte[] addr = s.isWildcard() ? s.src() : ipMap.map(s.src());
        in.resetScratch();
        long at = in.put(sockaddr(family, addr, s.srcPort()));
        long rc = in.raw(Syscalls.BIND, sfd, at, addrLen(family));
        if (!Syscalls.isError(rc)) {
            return;
        }
        int errno = Syscalls.errno(rc);
        String a = InetSocket.addressText(addr);
        if (errno == Errno.EADDRNOTAVAIL) {
            throw new RestoreException("cannot bind " + what + ": this host has no address " + a
                    + (ipMap.maps(s.src()) ? " (mapped by --ip-map)" : "; map it to one of this host's with --ip-map "
                    + InetSocket.addressText(s.src()) + "=NEW"));
        }
        if (errno == Errno.EADDRINUSE) {
            throw new RestoreException("cannot bind " + what + ": port " + s.srcPort() + " of " + a
                    + " is in use on this host (EADDRINUSE)");
        }
        throw new RestoreException("cannot bind " + what + " to " + a + " port " + s.srcPort() + ": " + Errno.name(errno));
    }

    static int addrLen(int family) {
        return family == Sockets.AF_INET ? Sockets.SIZEOF_SOCKADDR_IN : Sockets.SIZEOF_SOCKADDR_IN6;
    }

    /** struct sockaddr_in / sockaddr_in6: family (host order), port (network order), address; the rest zero. */
    static ByteBuffer sockaddr(int family, byte[] addr, int port) {
        ByteBuffer b = ByteBuffer.allocateDirect(addrLen(family)).order(ByteOrder.nativeOrder());
        b.putShort(0, (short) family);
        b.order(ByteOrder.BIG_ENDIAN).putShort(2, (short) port);
        b.put(family == Sockets.AF_INET ? 4 : 8, addr);
        return b;
    }

    @Override
    public long position(InetSocket file) {
        return -1;
    }
}
