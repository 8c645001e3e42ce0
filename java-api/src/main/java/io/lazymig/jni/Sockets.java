package io.lazymig.jni;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Sockets: the constants (families, types, levels, options, TCP states, address sizes) that dump and
 * restore pass to injected socket syscalls, and the sock_diag netlink queries that list the
 * sockets of this network namespace as ss(8) and CRIU read them: one record per socket, found by
 * the inode that /proc/PID/fd shows as "socket:[INO]".
 */
public final class Sockets {
    static {
        NativeLibrary.load();
    }

    public static final int AF_INET = (int) constant("AF_INET");
    public static final int AF_INET6 = (int) constant("AF_INET6");
    public static final int AF_UNIX = (int) constant("AF_UNIX");
    public static final int AF_NETLINK = (int) constant("AF_NETLINK");
    public static final int IPPROTO_IP = (int) constant("IPPROTO_IP");
    public static final int IPPROTO_TCP = (int) constant("IPPROTO_TCP");
    public static final int IPPROTO_UDP = (int) constant("IPPROTO_UDP");
    public static final int IPPROTO_IPV6 = (int) constant("IPPROTO_IPV6");
    public static final int SOCK_STREAM = (int) constant("SOCK_STREAM");
    public static final int SOCK_DGRAM = (int) constant("SOCK_DGRAM");
    public static final int SOCK_SEQPACKET = (int) constant("SOCK_SEQPACKET");
    public static final int SOCK_RAW = (int) constant("SOCK_RAW");
    public static final int SOCK_NONBLOCK = (int) constant("SOCK_NONBLOCK");
    public static final int SOCK_CLOEXEC = (int) constant("SOCK_CLOEXEC");
    public static final int SOL_SOCKET = (int) constant("SOL_SOCKET");
    public static final int SO_TYPE = (int) constant("SO_TYPE");
    public static final int SO_DOMAIN = (int) constant("SO_DOMAIN");
    public static final int SO_PROTOCOL = (int) constant("SO_PROTOCOL");
    public static final int SO_ACCEPTCONN = (int) constant("SO_ACCEPTCONN");
    public static final int SO_REUSEADDR = (int) constant("SO_REUSEADDR");
    public static final int SO_REUSEPORT = (int) constant("SO_REUSEPORT");
    public static final int SO_KEEPALIVE = (int) constant("SO_KEEPALIVE");
    public static final int SO_BROADCAST = (int) constant("SO_BROADCAST");
    public static final int SO_RCVBUF = (int) constant("SO_RCVBUF");
    public static final int SO_SNDBUF = (int) constant("SO_SNDBUF");
    public static final int SO_RCVBUFFORCE = (int) constant("SO_RCVBUFFORCE");
    public static final int SO_SNDBUFFORCE = (int) constant("SO_SNDBUFFORCE");
    public static final int SO_PRIORITY = (int) constant("SO_PRIORITY");
    public static final int SO_RCVLOWAT = (int) constant("SO_RCVLOWAT");
    public static final int SO_MARK = (int) constant("SO_MARK");
    public static final int SO_PASSCRED = (int) constant("SO_PASSCRED");
    public static final int SO_PEEK_OFF = (int) constant("SO_PEEK_OFF");
    public static final int SO_RCVTIMEO = (int) constant("SO_RCVTIMEO");
    public static final int SO_SNDTIMEO = (int) constant("SO_SNDTIMEO");
    public static final int SO_ERROR = (int) constant("SO_ERROR");
    public static final int TCP_NODELAY = (int) constant("TCP_NODELAY");
    public static final int TCP_KEEPIDLE = (int) constant("TCP_KEEPIDLE");
    public static final int TCP_KEEPINTVL = (int) constant("TCP_KEEPINTVL");
    public static final int TCP_KEEPCNT = (int) constant("TCP_KEEPCNT");
    public static final int IPV6_V6ONLY = (int) constant("IPV6_V6ONLY");
    public static final int IP_FREEBIND = (int) constant("IP_FREEBIND");
    public static final int MSG_PEEK = (int) constant("MSG_PEEK");
    public static final int MSG_DONTWAIT = (int) constant("MSG_DONTWAIT");
    public static final int SHUT_RD = (int) constant("SHUT_RD");
    public static final int SHUT_WR = (int) constant("SHUT_WR");
    public static final int SHUT_RDWR = (int) constant("SHUT_RDWR");
    /** TCP states (netinet/tcp.h), as sock_diag reports them; UDP sockets use TCP_CLOSE and TCP_ESTABLISHED. */
    public static final int TCP_ESTABLISHED = (int) constant("TCP_ESTABLISHED");
    public static final int TCP_SYN_SENT = (int) constant("TCP_SYN_SENT");
    public static final int TCP_CLOSE = (int) constant("TCP_CLOSE");
    public static final int TCP_LISTEN = (int) constant("TCP_LISTEN");
    public static final int SIZEOF_SOCKADDR_IN = (int) constant("SIZEOF_SOCKADDR_IN");
    public static final int SIZEOF_SOCKADDR_IN6 = (int) constant("SIZEOF_SOCKADDR_IN6");
    public static final int SIZEOF_SOCKADDR_UN = (int) constant("SIZEOF_SOCKADDR_UN");
    public static final int SIZEOF_SOCKADDR_NL = (int) constant("SIZEOF_SOCKADDR_NL");
    public static final int SOCKADDR_UN_PATH_OFFSET = (int) constant("SOCKADDR_UN_PATH_OFFSET");
    public static final int SIZEOF_MSGHDR = (int) constant("SIZEOF_MSGHDR");
    public static final int SIZEOF_IOVEC = (int) constant("SIZEOF_IOVEC");
    public static final int MSGHDR_IOV = (int) constant("MSGHDR_IOV");
    public static final int MSGHDR_IOVLEN = (int) constant("MSGHDR_IOVLEN");
    public static final int MSGHDR_FLAGS = (int) constant("MSGHDR_FLAGS");
    public static final int MSG_TRUNC = (int) constant("MSG_TRUNC");
    public static final int MSG_CTRUNC = (int) constant("MSG_CTRUNC");

    private static final int INET_SIZE = (int) constant("SIZE_lm_inet_rec");
    private static final int UNIX_SIZE = (int) constant("SIZE_lm_unix_rec");
    private static final int NETLINK_SIZE = (int) constant("SIZE_lm_netlink_rec");
    private static final int UNIX_MAX_ICONS = (int) constant("UNIX_MAX_ICONS");
    /** The largest buffer a query grows to (a host with that many sockets is refused, not truncated). */
    private static final int MAX_BUFFER = 64 << 20;

    /** One TCP or UDP socket: ports in host order, addresses of 4 (AF_INET) or 16 bytes. */
    public record Inet(long ino, int family, int protocol, int state, byte[] src, int srcPort, byte[] dst, int dstPort,
            int ifindex, int rqueue, int wqueue) {
    }

    /**
     * One unix socket: its name (a path, or an abstract name starting with a NUL byte, or empty),
     * its peer's inode (0: none), queue lengths (a listener: pending connections and backlog), the
     * inode of its socket file, the inodes of the connections waiting to be accepted, its shutdown mask.
     */
    public record Unix(long ino, int type, int state, byte[] name, long peer, int rqueue, int wqueue, long vfsIno,
            long[] pending, int pendingCount, int shutdown) {
    }

    /** One netlink socket: protocol, its port id, its destination, its first 64 multicast groups. */
    public record Netlink(long ino, int protocol, int state, long portid, long dstPortid, long dstGroup, long groups) {
    }

    private Sockets() {
    }

    /** Every socket of {@code family} (AF_INET, AF_INET6) and {@code protocol} (IPPROTO_TCP, IPPROTO_UDP). */
    public static List<Inet> inet(int family, int protocol) throws NativeException {
        ByteBuffer b = query("sock_diag(inet " + family + "/" + protocol + ")", INET_SIZE,
                (addr, cap) -> nativeInet(family, protocol, addr, cap));
        List<Inet> out = new ArrayList<>();
        int addrLen = family == AF_INET ? 4 : 16;
        for (int at = 0; at < b.limit(); at += INET_SIZE) {
            byte[] src = new byte[addrLen];
            byte[] dst = new byte[addrLen];
            b.get(at + INET_SRC, src);
            b.get(at + INET_DST, dst);
            out.add(new Inet(Integer.toUnsignedLong(b.getInt(at + INET_INO)), b.get(at + INET_FAMILY) & 0xff, protocol,
                    b.get(at + INET_STATE) & 0xff, src, b.getShort(at + INET_SPORT) & 0xffff, dst,
                    b.getShort(at + INET_DPORT) & 0xffff, b.getInt(at + INET_IFINDEX), b.getInt(at + INET_RQUEUE),
                    b.getInt(at + INET_WQUEUE)));
        }
        return out;
    }

    /** Every unix socket of this network namespace. */
    public static List<Unix> unix() throws NativeException {
        ByteBuffer b = query("sock_diag(unix)", UNIX_SIZE, Sockets::nativeUnix);
        List<Unix> out = new ArrayList<>();
        for (int at = 0; at < b.limit(); at += UNIX_SIZE) {
            byte[] name = new byte[b.get(at + UNIX_NAME_LEN) & 0xff];
            b.get(at + UNIX_NAME, name);
            if (name.length > 0 && name[0] != 0) { // a path: up to its NUL (the kernel keeps the one bind was given)
                int end = 0;
                while (end < name.length && name[end] != 0) {
                    end++;
                }
                name = Arrays.copyOf(name, end);
            }
            int n = b.getInt(at + UNIX_NICONS);
            long[] pending = new long[Math.min(n, UNIX_MAX_ICONS)];
            for (int i = 0; i < pending.length; i++) {
                pending[i] = Integer.toUnsignedLong(b.getInt(at + UNIX_ICONS + 4 * i));
            }
            out.add(new Unix(Integer.toUnsignedLong(b.getInt(at + UNIX_INO)), b.get(at + UNIX_TYPE) & 0xff,
                    b.get(at + UNIX_STATE) & 0xff, name, Integer.toUnsignedLong(b.getInt(at + UNIX_PEER)),
                    b.getInt(at + UNIX_RQUEUE), b.getInt(at + UNIX_WQUEUE), Integer.toUnsignedLong(b.getInt(at + UNIX_VFS_INO)),
                    pending, n, b.get(at + UNIX_SHUTDOWN) & 0xff));
        }
        return out;
    }

    /** Every netlink socket of this network namespace. */
    public static List<Netlink> netlink() throws NativeException {
        ByteBuffer b = query("sock_diag(netlink)", NETLINK_SIZE, Sockets::nativeNetlink);
        List<Netlink> out = new ArrayList<>();
        for (int at = 0; at < b.limit(); at += NETLINK_SIZE) {
            out.add(new Netlink(Integer.toUnsignedLong(b.getInt(at + NL_INO)), b.get(at + NL_PROTOCOL) & 0xff,
                    b.get(at + NL_STATE) & 0xff, Integer.toUnsignedLong(b.getInt(at + NL_PORTID)),
                    Integer.toUnsignedLong(b.getInt(at + NL_DST_PORTID)), Integer.toUnsignedLong(b.getInt(at + NL_DST_GROUP)),
                    b.getLong(at + NL_GROUPS)));
        }
        return out;
    }

    private interface Query {
        int run(long address, long capacity);
    }

    /** Runs a query into a buffer that grows (to {@link #MAX_BUFFER}) until every record fits. */
    private static ByteBuffer query(String call, int recordSize, Query q) throws NativeException {
        for (int cap = 256 * recordSize; ; cap *= 4) {
            ByteBuffer b = ByteBuffer.allocateDirect(cap).order(ByteOrder.nativeOrder());
            int n = q.run(Buffers.address(b), cap);
            if (n == -Errno.ENOSPC && cap < MAX_BUFFER) {
                continue;
            }
            NativeException.check(call, n);
            b.limit(n * recordSize);
            return b;
        }
    }

    /** An address's bytes as text: "10.0.0.1", "::1", "fe80::1". */
    public static String addressText(byte[] a) {
        try {
            return java.net.InetAddress.getByAddress(a).getHostAddress();
        } catch (java.net.UnknownHostException e) {
            return Arrays.toString(a);
        }
    }

    private static final int INET_INO = (int) constant("lm_inet_rec_ino");
    private static final int INET_FAMILY = (int) constant("lm_inet_rec_family");
    private static final int INET_STATE = (int) constant("lm_inet_rec_state");
    private static final int INET_SPORT = (int) constant("lm_inet_rec_sport");
    private static final int INET_DPORT = (int) constant("lm_inet_rec_dport");
    private static final int INET_IFINDEX = (int) constant("lm_inet_rec_ifindex");
    private static final int INET_RQUEUE = (int) constant("lm_inet_rec_rqueue");
    private static final int INET_WQUEUE = (int) constant("lm_inet_rec_wqueue");
    private static final int INET_SRC = (int) constant("lm_inet_rec_src");
    private static final int INET_DST = (int) constant("lm_inet_rec_dst");
    private static final int UNIX_INO = (int) constant("lm_unix_rec_ino");
    private static final int UNIX_TYPE = (int) constant("lm_unix_rec_type");
    private static final int UNIX_STATE = (int) constant("lm_unix_rec_state");
    private static final int UNIX_SHUTDOWN = (int) constant("lm_unix_rec_shutdown");
    private static final int UNIX_NAME_LEN = (int) constant("lm_unix_rec_name_len");
    private static final int UNIX_PEER = (int) constant("lm_unix_rec_peer");
    private static final int UNIX_RQUEUE = (int) constant("lm_unix_rec_rqueue");
    private static final int UNIX_WQUEUE = (int) constant("lm_unix_rec_wqueue");
    private static final int UNIX_VFS_INO = (int) constant("lm_unix_rec_vfs_ino");
    private static final int UNIX_NICONS = (int) constant("lm_unix_rec_nicons");
    private static final int UNIX_NAME = (int) constant("lm_unix_rec_name");
    private static final int UNIX_ICONS = (int) constant("lm_unix_rec_icons");
    private static final int NL_INO = (int) constant("lm_netlink_rec_ino");
    private static final int NL_PROTOCOL = (int) constant("lm_netlink_rec_protocol");
    private static final int NL_STATE = (int) constant("lm_netlink_rec_state");
    private static final int NL_PORTID = (int) constant("lm_netlink_rec_portid");
    private static final int NL_DST_PORTID = (int) constant("lm_netlink_rec_dst_portid");
    private static final int NL_DST_GROUP = (int) constant("lm_netlink_rec_dst_group");
    private static final int NL_GROUPS = (int) constant("lm_netlink_rec_groups");

    private static native long constant(String name);

    private static native int nativeInet(int family, int protocol, long out, long cap);

    private static native int nativeUnix(long out, long cap);

    private static native int nativeNetlink(long out, long cap);
}
