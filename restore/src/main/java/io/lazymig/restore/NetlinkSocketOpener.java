package io.lazymig.restore;

import io.lazymig.images.NetlinkSocket;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Sockets;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A netlink socket, rebuilt by injected syscalls: socket with its type and protocol (non-blocking
 * as it was), its options, bind to its multicast groups with a port id the kernel picks (the old
 * one may be taken here), connect when it was connected.
 */
final class NetlinkSocketOpener implements FileOpener<NetlinkSocket> {
    @Override
    public Class<NetlinkSocket> kind() {
        return NetlinkSocket.class;
    }

    @Override
    public long open(Injector in, NetlinkSocket s, int fd, ParkedStdio stdio) throws IOException {
        String what = "fd " + fd + " (" + s.describe() + ")";
        int type = (s.type() == NetlinkSocket.SOCK_DGRAM ? Sockets.SOCK_DGRAM : Sockets.SOCK_RAW)
                | ((s.flags() & FileDescriptor.O_NONBLOCK) != 0 ? Sockets.SOCK_NONBLOCK : 0);
        long sfd = in.raw(Syscalls.SOCKET, Sockets.AF_NETLINK, type, s.protocol());
        if (Syscalls.isError(sfd)) {
            throw new RestoreException("cannot create socket " + what + ": " + Errno.name(Syscalls.errno(sfd)));
        }
        new SocketOptionsWriter(in, (int) sfd, what).apply(s.opts(), false);
        if (s.isBound()) {
            call(in, Syscalls.BIND, sfd, 0, s.groups(), what, "bind");
        }
        if (s.dstPortid() != 0 || s.dstGroup() != 0) {
            call(in, Syscalls.CONNECT, sfd, s.dstPortid(), s.dstGroup() == 0 ? 0 : 1 << (s.dstGroup() - 1), what, "connect");
        }
        return sfd;
    }

    /** bind or connect with a struct sockaddr_nl {family, pad, pid, groups}. */
    private static void call(Injector in, int nr, long sfd, long portid, int groups, String what, String name)
            throws IOException {
        ByteBuffer a = ByteBuffer.allocateDirect(Sockets.SIZEOF_SOCKADDR_NL).order(ByteOrder.nativeOrder());
        a.putShort(0, (short) Sockets.AF_NETLINK).putInt(4, (int) portid).putInt(8, groups);
        in.resetScratch();
        long at = in.put(a);
        long rc = in.raw(nr, sfd, at, Sockets.SIZEOF_SOCKADDR_NL);
        if (Syscalls.isError(rc)) {
            throw new RestoreException("cannot " + name + " " + what + ": " + Errno.name(Syscalls.errno(rc)));
        }
    }

    @Override
    public long position(NetlinkSocket file) {
        return -1;
    }
}
