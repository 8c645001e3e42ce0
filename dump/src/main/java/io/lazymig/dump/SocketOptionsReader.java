package io.lazymig.dump;

import io.lazymig.images.SocketOptions;
import io.lazymig.jni.Sockets;
import java.io.IOException;

/** The options of one socket of the frozen process that getsockopt reads back, injected (CRIU's dump_socket_opts). */
final class SocketOptionsReader {
    private SocketOptionsReader() {
    }

    static SocketOptions read(int fd, Injections inj, boolean tcp) throws IOException {
        return new SocketOptions(intOpt(inj, fd, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF),
                intOpt(inj, fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF),
                inj.timevalSockOpt(fd, Sockets.SOL_SOCKET, Sockets.SO_SNDTIMEO),
                inj.timevalSockOpt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVTIMEO),
                flag(inj, fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR),
                flag(inj, fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEPORT),
                flag(inj, fd, Sockets.SOL_SOCKET, Sockets.SO_KEEPALIVE),
                flag(inj, fd, Sockets.SOL_SOCKET, Sockets.SO_BROADCAST),
                intOpt(inj, fd, Sockets.SOL_SOCKET, Sockets.SO_PRIORITY),
                intOpt(inj, fd, Sockets.SOL_SOCKET, Sockets.SO_RCVLOWAT),
                intOpt(inj, fd, Sockets.SOL_SOCKET, Sockets.SO_MARK),
                flag(inj, fd, Sockets.SOL_SOCKET, Sockets.SO_PASSCRED),
                tcp ? intOpt(inj, fd, Sockets.IPPROTO_TCP, Sockets.TCP_KEEPCNT) : 0,
                tcp ? intOpt(inj, fd, Sockets.IPPROTO_TCP, Sockets.TCP_KEEPIDLE) : 0,
                tcp ? intOpt(inj, fd, Sockets.IPPROTO_TCP, Sockets.TCP_KEEPINTVL) : 0);
    }

    private static boolean flag(Injections inj, int fd, int level, int name) throws IOException {
        return intOpt(inj, fd, level, name) != 0;
    }

    /** The option's value; one the kernel does not know for this socket reads as 0 (its default). */
    private static int intOpt(Injections inj, int fd, int level, int name) throws IOException {
        long v = inj.intSockOpt(fd, level, name);
        return v < 0 && v > -4096 ? 0 : (int) v;
    }
}
