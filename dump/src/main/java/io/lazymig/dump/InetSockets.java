package io.lazymig.dump;

import io.lazymig.images.InetSocket;
import io.lazymig.images.SocketOptions;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Sockets;
import io.lazymig.jni.TcpRepair;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The inet (TCP and UDP, IPv4 and IPv6) sockets of the dumping host's network namespace, listed
 * once by sock_diag (the kernel's state, addresses, ports, backlog and accept queue, by inode), and
 * the reader of one socket of the frozen process: what sock_diag says, plus the options that only
 * getsockopt tells, injected into the process.
 */
final class InetSockets {
    private final Map<Long, Sockets.Inet> byIno;

    private InetSockets(Map<Long, Sockets.Inet> byIno) {
        this.byIno = byIno;
    }

    static InetSockets list() throws IOException {
        Map<Long, Sockets.Inet> m = new HashMap<>();
        for (int family : new int[] {Sockets.AF_INET, Sockets.AF_INET6}) {
            for (int proto : new int[] {Sockets.IPPROTO_TCP, Sockets.IPPROTO_UDP}) {
                for (Sockets.Inet s : Sockets.inet(family, proto)) {
                    m.putIfAbsent(s.ino(), s);
                }
            }
        }
        return new InetSockets(m);
    }

    /** The socket with inode {@code ino}, or null when it is not a TCP or UDP socket. */
    Sockets.Inet find(long ino) {
        return byIno.get(ino);
    }

    /** Socket {@code fd} (sock_diag's {@code s}) as a file object, its options asked from the process. */
    static InetSocket read(int id, int fd, Sockets.Inet s, int flags, Injections inj) throws IOException {
        boolean tcp = s.protocol() == Sockets.IPPROTO_TCP;
        boolean v6 = s.family() == Sockets.AF_INET6;
        // asked with the common options, in one go: freebind, transparent, then v6only and nodelay where they apply
        List<Injections.SockOpt> more = new ArrayList<>(List.of(Injections.SockOpt.of(Sockets.IPPROTO_IP, Sockets.IP_FREEBIND),
                v6 ? Injections.SockOpt.of(Sockets.IPPROTO_IPV6, TcpRepair.IPV6_TRANSPARENT)
                        : Injections.SockOpt.of(Sockets.IPPROTO_IP, TcpRepair.IP_TRANSPARENT)));
        int v6onlyAt = v6 ? add(more, Injections.SockOpt.of(Sockets.IPPROTO_IPV6, Sockets.IPV6_V6ONLY)) : -1;
        int nodelayAt = tcp ? add(more, Injections.SockOpt.of(Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY)) : -1;
        long[] values = new long[more.size()];
        SocketOptions opts = SocketOptionsReader.read(fd, inj, tcp, more, values);
        boolean freebind = values[0] == 1;
        boolean transparent = values[1] == 1;
        boolean v6only = v6onlyAt >= 0 && values[v6onlyAt] == 1;
        boolean nodelay = nodelayAt >= 0 && values[nodelayAt] == 1;
        int backlog = s.state() == Sockets.TCP_LISTEN ? s.wqueue() : 0;
        try {
            return new InetSocket(id, s.ino(), s.family() == Sockets.AF_INET ? InetSocket.AF_INET : InetSocket.AF_INET6,
                    tcp ? InetSocket.SOCK_STREAM : InetSocket.SOCK_DGRAM, tcp ? InetSocket.IPPROTO_TCP : InetSocket.IPPROTO_UDP,
                    s.state(), s.src(), s.srcPort(), s.dst(), s.dstPort(), backlog,
                    flags & ~(FileDescriptor.O_CLOEXEC | FileDescriptor.O_ACCMODE), opts, v6only, nodelay, freebind, transparent);
        } catch (IllegalArgumentException e) {
            throw new DumpException("fd " + fd + ": " + e.getMessage(), e);
        }
    }

    /** The connections waiting in listener {@code s}'s accept queue. */
    static int waiting(Sockets.Inet s) {
        return s.state() == Sockets.TCP_LISTEN ? s.rqueue() : 0;
    }

    /** Appends {@code o} to {@code list}; returns its index. */
    private static int add(List<Injections.SockOpt> list, Injections.SockOpt o) {
        list.add(o);
        return list.size() - 1;
    }
}
