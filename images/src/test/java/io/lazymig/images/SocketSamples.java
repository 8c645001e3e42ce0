package io.lazymig.images;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The sample process of {@link Samples} with a socket of every kind lazymig migrates open: a TCP
 * listener on an address, a UDP socket on [::], an established TCP connection (restored closed), a
 * unix listener bound to a path, a unix stream pair inside the process with data queued both ways
 * (sk-queues.img), a datagram socket connected to /dev/log, and a netlink uevent socket.
 */
final class SocketSamples {
    static final long PAIR_A = 81;
    static final long PAIR_B = 82;

    private SocketSamples() {
    }

    static List<FileObject> sockets() {
        SocketOptions opts = new SocketOptions(16384, 131072, 0, 0, true, false, true, false, 0, 1, 0, false, 0, 0, 0);
        return List.of(
                new InetSocket(4, 71, InetSocket.AF_INET, InetSocket.SOCK_STREAM, InetSocket.IPPROTO_TCP,
                        InetSocket.TCP_LISTEN, new byte[] {10, (byte) 231, 77, 1}, 8080, new byte[4], 0, 128, 04000, opts,
                        false, true, false),
                new InetSocket(5, 72, InetSocket.AF_INET6, InetSocket.SOCK_DGRAM, InetSocket.IPPROTO_UDP,
                        InetSocket.TCP_CLOSE, new byte[16], 5353, new byte[16], 0, 0, 0, SocketOptions.DEFAULTS, true, false,
                        false),
                new InetSocket(6, 73, InetSocket.AF_INET, InetSocket.SOCK_STREAM, InetSocket.IPPROTO_TCP,
                        InetSocket.TCP_ESTABLISHED, new byte[] {127, 0, 0, 1}, 40000, new byte[] {127, 0, 0, 1}, 8080, 0, 0,
                        SocketOptions.DEFAULTS, false, false, false),
                new UnixSock(7, 80, UnixSock.SOCK_STREAM, UnixSock.TCP_LISTEN, "/run/app.sock".getBytes(), 0, 16, 04000,
                        SocketOptions.DEFAULTS, 0, 0660, 0, 0, List.of(), new byte[0]),
                new UnixSock(8, PAIR_A, UnixSock.SOCK_STREAM, UnixSock.TCP_ESTABLISHED, new byte[0], PAIR_B, 0, 0,
                        SocketOptions.DEFAULTS, 0, -1, 0, 0, List.of("queued for the first end".getBytes()), new byte[0]),
                new UnixSock(9, PAIR_B, UnixSock.SOCK_STREAM, UnixSock.TCP_ESTABLISHED, new byte[0], PAIR_A, 0, 0,
                        SocketOptions.DEFAULTS, 2, -1, 0, 0, List.of("and for the second".getBytes()), new byte[0]),
                new UnixSock(10, 90, UnixSock.SOCK_DGRAM, UnixSock.TCP_ESTABLISHED, new byte[0], 0, 0, 0,
                        SocketOptions.DEFAULTS, 0, -1, 0, 0, List.of(), "/dev/log".getBytes()),
                new NetlinkSocket(11, 91, NetlinkSocket.SOCK_DGRAM, 15, 4242, 1, 0, 0, 04000, SocketOptions.DEFAULTS));
    }

    static Checkpoint checkpoint() {
        List<FileObject> files = new ArrayList<>(Samples.files());
        files.addAll(sockets());
        List<FdSlot> fds = new ArrayList<>(Samples.fds());
        for (FileObject s : sockets()) {
            fds.add(new FdSlot(s.id(), false, s.id()));
        }
        ProcessImage p = new ProcessImage(Samples.state(), List.of(Samples.leader()), Samples.vmas(), Samples.pagemap(), fds);
        return Checkpoint.of(p, files);
    }

    /** The sample, written with its pages into {@code dir}. */
    static Checkpoint write(Path dir) throws IOException {
        Checkpoint c = checkpoint();
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        return c;
    }
}
