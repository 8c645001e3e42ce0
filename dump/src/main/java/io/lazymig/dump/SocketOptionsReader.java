package io.lazymig.dump;

import io.lazymig.images.SocketOptions;
import io.lazymig.jni.Sockets;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The options of one socket of the frozen process that getsockopt reads back, injected (CRIU's
 * dump_socket_opts): all asked at once ({@link Injections#sockOpts}), with any more a caller asks.
 */
final class SocketOptionsReader {
    private static final List<Injections.SockOpt> COMMON = List.of(
            Injections.SockOpt.of(Sockets.SOL_SOCKET, Sockets.SO_SNDBUF),
            Injections.SockOpt.of(Sockets.SOL_SOCKET, Sockets.SO_RCVBUF),
            Injections.SockOpt.timeval(Sockets.SOL_SOCKET, Sockets.SO_SNDTIMEO),
            Injections.SockOpt.timeval(Sockets.SOL_SOCKET, Sockets.SO_RCVTIMEO),
            Injections.SockOpt.of(Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR),
            Injections.SockOpt.of(Sockets.SOL_SOCKET, Sockets.SO_REUSEPORT),
            Injections.SockOpt.of(Sockets.SOL_SOCKET, Sockets.SO_KEEPALIVE),
            Injections.SockOpt.of(Sockets.SOL_SOCKET, Sockets.SO_BROADCAST),
            Injections.SockOpt.of(Sockets.SOL_SOCKET, Sockets.SO_PRIORITY),
            Injections.SockOpt.of(Sockets.SOL_SOCKET, Sockets.SO_RCVLOWAT),
            Injections.SockOpt.of(Sockets.SOL_SOCKET, Sockets.SO_MARK),
            Injections.SockOpt.of(Sockets.SOL_SOCKET, Sockets.SO_PASSCRED));
    private static final List<Injections.SockOpt> TCP = List.of(
            Injections.SockOpt.of(Sockets.IPPROTO_TCP, Sockets.TCP_KEEPCNT),
            Injections.SockOpt.of(Sockets.IPPROTO_TCP, Sockets.TCP_KEEPIDLE),
            Injections.SockOpt.of(Sockets.IPPROTO_TCP, Sockets.TCP_KEEPINTVL));

    private SocketOptionsReader() {
    }

    static SocketOptions read(int fd, Injections inj, boolean tcp) throws IOException {
        return read(fd, inj, tcp, List.of(), new long[0]);
    }

    /** As {@link #read(int, Injections, boolean)}, with {@code more} options asked at the same time into {@code moreValues}. */
    static SocketOptions read(int fd, Injections inj, boolean tcp, List<Injections.SockOpt> more, long[] moreValues)
            throws IOException {
        List<Injections.SockOpt> all = new ArrayList<>(COMMON);
        if (tcp) {
            all.addAll(TCP);
        }
        int first = all.size();
        all.addAll(more);
        long[] v = inj.sockOpts(fd, all);
        System.arraycopy(v, first, moreValues, 0, more.size());
        return new SocketOptions(intOpt(v[0]), intOpt(v[1]), v[2], v[3], intOpt(v[4]) != 0, intOpt(v[5]) != 0,
                intOpt(v[6]) != 0, intOpt(v[7]) != 0, intOpt(v[8]), intOpt(v[9]), intOpt(v[10]), intOpt(v[11]) != 0,
                tcp ? intOpt(v[12]) : 0, tcp ? intOpt(v[13]) : 0, tcp ? intOpt(v[14]) : 0);
    }

    /** An option's value; one the kernel does not know for this socket reads as 0 (its default). */
    private static int intOpt(long v) {
        return v < 0 && v > -4096 ? 0 : (int) v;
    }
}
