package io.lazymig.protocol;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A handshake under a deadline: a silent peer is dropped with one line; one in time is not disturbed. */
@Timeout(30)
class ConnectionDeadlineTest {
    @Test
    void silentClientIsDroppedAtTheDeadline() throws Exception {
        try (ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
             SocketChannel silent = SocketChannel.open(l.getLocalAddress());
             SocketChannel ch = l.accept()) {
            ProtocolException e = assertThrows(ProtocolException.class, () -> ConnectionDeadline.within(ch,
                    Duration.ofMillis(200), "client x's handshake", () -> Handshake.server(ch, new FrameCodec("client x"),
                            null, new Handshake.Welcome(1, 1), "client x")));
            assertEquals("client x's handshake did not complete within 0.2 s: dropped", e.getMessage());
            assertTrue(ch.isOpen(), "the deadline shuts the socket down; its owner closes it");
            assertEquals(-1, silent.read(ByteBuffer.allocate(16)), "the silent peer sees the end of the stream");
        }
    }

    @Test
    void handshakeInTimeIsUndisturbed() throws Exception {
        try (ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
             SocketChannel client = SocketChannel.open(l.getLocalAddress());
             SocketChannel ch = l.accept()) {
            Thread t = new Thread(() -> {
                try {
                    ConnectionDeadline.within(ch, Duration.ofSeconds(20), "client's handshake", () -> Handshake.server(ch,
                            new FrameCodec("client"), null, new Handshake.Welcome(7, 9), "client"));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            t.start();
            Handshake.Welcome w = ConnectionDeadline.within(client, Duration.ofSeconds(20), "server's handshake",
                    () -> Handshake.client(client, new FrameCodec("server"), null, "server"));
            t.join();
            assertEquals(new Handshake.Welcome(7, 9), w);
            FrameCodec codec = new FrameCodec("server");
            codec.write(ch, FrameType.PING, 0, 1, (ByteBuffer) null);
            assertEquals(FrameType.PING, codec.read(client, 16).type(), "the socket still works after the deadline is disarmed");
        }
    }

    @Test
    void peerTextIsLoggedAsOnePrintableLine() {
        assertThat(Errors.printable("bad\nkey\u0000\u202e!"), containsString("bad?key??!"));
    }
}
