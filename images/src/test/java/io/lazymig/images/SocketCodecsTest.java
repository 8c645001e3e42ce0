package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import org.junit.jupiter.api.Test;

/** Inet sockets ↔ INETSK entries of files.img (CRIU's isk), and what the model refuses. */
class SocketCodecsTest {
    private static final SocketOptions OPTS = new SocketOptions(16384, 131072, 2_500_000, 0, true, true, true, false, 3,
            1, 7, false, 5, 60, 10);

    static InetSocket listener6() {
        byte[] any = new byte[16];
        return new InetSocket(4, 123456, InetSocket.AF_INET6, InetSocket.SOCK_STREAM, InetSocket.IPPROTO_TCP,
                InetSocket.TCP_LISTEN, any, 8080, new byte[16], 0, 128, 04000, OPTS, true, true, false);
    }

    @Test
    void listenerRoundTrip() {
        InetSocket s = listener6();
        file_entry e = FileCodecs.encode(s);
        assertEquals(fd_types.INETSK, e.getType());
        assertEquals(4, e.getIsk().getSrcAddrCount(), "IPv6: 4 words, as CRIU writes them");
        assertEquals(128, e.getIsk().getBacklog());
        assertTrue(e.getIsk().getOpts().getReuseaddr());
        assertEquals(2, e.getIsk().getOpts().getSoSndTmoSec());
        assertEquals(500_000, e.getIsk().getOpts().getSoSndTmoUsec());
        assertEquals(s, FileCodecs.decode(e));
        assertTrue(s.isListening());
        assertTrue(s.isWildcard());
        assertEquals("tcp6 listening on [::]:8080", s.describe());
        byte[] one = new byte[16];
        one[15] = 1;
        assertEquals("::1", InetSocket.addressText(one));
        one[0] = (byte) 0xfe;
        one[1] = (byte) 0x80;
        assertEquals("fe80::1", InetSocket.addressText(one));
    }

    @Test
    void ipTransparentRoundTripsInLazymigsOwnFieldOnlyWhenSet() {
        InetSocket plain = listener6();
        assertFalse(FileCodecs.encode(plain).getIsk().hasLmTransparent(), "an image CRIU could write, unchanged");
        InetSocket transparent = new InetSocket(4, 123456, InetSocket.AF_INET6, InetSocket.SOCK_STREAM,
                InetSocket.IPPROTO_TCP, InetSocket.TCP_LISTEN, new byte[16], 8080, new byte[16], 0, 128, 04000, OPTS, true,
                true, false, true);
        file_entry e = FileCodecs.encode(transparent);
        assertTrue(e.getIsk().getLmTransparent());
        InetSocket back = (InetSocket) FileCodecs.decode(e);
        assertTrue(back.transparent());
        assertEquals(transparent, back);
        assertFalse(back.equals(plain), "IP_TRANSPARENT is part of the socket");
    }

    @Test
    void ipv4AddressWordsAreCriusLayout() {
        byte[] local = {10, (byte) 231, 77, 1};
        InetSocket s = new InetSocket(3, 1, InetSocket.AF_INET, InetSocket.SOCK_STREAM, InetSocket.IPPROTO_TCP,
                InetSocket.TCP_ESTABLISHED, local, 40000, new byte[] {10, (byte) 231, 77, 2}, 22, 0, 0,
                SocketOptions.DEFAULTS, false, false, false);
        file_entry e = FileCodecs.encode(s);
        // crit prints the word read from the bytes in host order as a dotted address: 10.231.77.1
        assertEquals(0x014de70a, e.getIsk().getSrcAddr(0));
        InetSocket back = (InetSocket) FileCodecs.decode(e);
        assertArrayEquals(local, back.src());
        assertTrue(back.isConnectedStream(), "an established connection is restored closed");
        assertFalse(back.isListening());
    }

    @Test
    void badEntriesAreRefusedWithTheReason() {
        file_entry good = FileCodecs.encode(listener6());
        file_entry family = good.toBuilder().setIsk(good.getIsk().toBuilder().setFamily(99)).build();
        assertEquals("inet socket 4: family 99 is neither AF_INET nor AF_INET6",
                assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(family)).getMessage());
        file_entry words = good.toBuilder().setIsk(good.getIsk().toBuilder().clearSrcAddr().addAllSrcAddr(good.getIsk().getSrcAddrList().subList(1, 4))).build();
        assertEquals("file id 4 src_addr has 3 words, expected 4",
                assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(words)).getMessage());
        file_entry udpStream = good.toBuilder().setIsk(good.getIsk().toBuilder().setProto(InetSocket.IPPROTO_UDP)).build();
        assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(udpStream));
        file_entry noIsk = good.toBuilder().clearIsk().build();
        assertEquals("file id 4 is of type INETSK without an isk entry",
                assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(noIsk)).getMessage());
    }

    @Test
    void unixSocketRoundTripAndItsQueueInSkQueues(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        UnixSock listener = new UnixSock(5, 77, UnixSock.SOCK_STREAM, UnixSock.TCP_LISTEN, "/run/app.sock".getBytes(), 0,
                16, 04000, SocketOptions.DEFAULTS, 0, 0660, 0, 0, java.util.List.of(), new byte[0]);
        file_entry e = FileCodecs.encode(listener);
        assertEquals(fd_types.UNIXSK, e.getType());
        assertEquals(0660, e.getUsk().getFilePerms().getMode());
        assertEquals(listener, FileCodecs.decode(e));
        assertEquals("unix stream listening on /run/app.sock", listener.describe());

        UnixSock end = new UnixSock(6, 78, UnixSock.SOCK_DGRAM, UnixSock.TCP_ESTABLISHED, new byte[] {0, 'x'}, 79, 0, 0,
                SocketOptions.DEFAULTS, 2, -1, 0, 0, java.util.List.of("d1".getBytes(), new byte[0], "d3".getBytes()),
                new byte[0]);
        assertTrue(end.isAbstract());
        assertFalse(FileCodecs.encode(end).getUsk().hasFilePerms());
        ImageDir d = ImageDir.of(dir);
        d.writeSkQueues(java.util.List.of(new ImageDir.QueuedPacket(6, "d1".getBytes()),
                new ImageDir.QueuedPacket(6, new byte[0]), new ImageDir.QueuedPacket(6, "d3".getBytes())));
        java.util.List<ImageDir.QueuedPacket> back = d.readSkQueues();
        assertEquals(3, back.size());
        assertArrayEquals("d3".getBytes(), back.get(2).data());
        assertEquals(end, ((UnixSock) FileCodecs.decode(FileCodecs.encode(end))).withQueue(
                back.stream().map(ImageDir.QueuedPacket::data).toList()));

        // a truncated packet is an error naming the image
        java.nio.file.Path q = dir.resolve("sk-queues.img");
        byte[] all = java.nio.file.Files.readAllBytes(q);
        java.nio.file.Files.write(q, java.util.Arrays.copyOf(all, all.length - 1));
        assertEquals("sk-queues.img: entry 3's data of 2 bytes but only 1 left (truncated)",
                assertThrows(ImageException.class, d::readSkQueues).getMessage());
    }

    @Test
    void unixSocketWithARelativeNameIsRefused() {
        assertEquals("unix socket 5: name app.sock is a relative path (not supported)",
                assertThrows(IllegalArgumentException.class, () -> new UnixSock(5, 1, UnixSock.SOCK_STREAM,
                        UnixSock.TCP_LISTEN, "app.sock".getBytes(), 0, 1, 0, SocketOptions.DEFAULTS, 0, -1, 0, 0,
                        java.util.List.of(), new byte[0])).getMessage());
        UnixSock log = new UnixSock(7, 3, UnixSock.SOCK_DGRAM, UnixSock.TCP_ESTABLISHED, new byte[0], 99, 0, 0,
                SocketOptions.DEFAULTS, 0, -1, 0, 0, java.util.List.of(), "/dev/log".getBytes());
        assertEquals(log, FileCodecs.decode(FileCodecs.encode(log)));
        assertEquals("unix datagram (connected to /dev/log)", log.describe());
    }

    @Test
    void netlinkRoundTrip() {
        NetlinkSocket uevent = new NetlinkSocket(9, 501, NetlinkSocket.SOCK_DGRAM, 15, 4242, 1, 0, 0, 04000,
                SocketOptions.DEFAULTS);
        file_entry e = FileCodecs.encode(uevent);
        assertEquals(fd_types.NETLINKSK, e.getType());
        assertEquals(1, e.getNlsk().getGroups(0));
        assertEquals(uevent, FileCodecs.decode(e));
        NetlinkSocket route = new NetlinkSocket(10, 502, NetlinkSocket.SOCK_RAW, 0, 0, 0, 0, 0, 0, SocketOptions.DEFAULTS);
        assertEquals(route, FileCodecs.decode(FileCodecs.encode(route)));
        assertFalse(route.isBound());
        file_entry many = e.toBuilder().setNlsk(e.getNlsk().toBuilder().addGroups(2)).build();
        assertEquals("file id 9: netlink groups above 32 are not supported",
                assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(many)).getMessage());
    }
}
