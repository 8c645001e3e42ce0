package io.lazymig.protocol;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transport seam over real loopback TCP: TLS 1.3 with the key file's pinned certificate
 * carries frames byte-exact both ways at once, its bytes on the wire are not the data's (and the
 * plain path's are); another key file, a disagreement on encryption and a silent peer each end
 * with one line naming the cause, on both sides.
 */
@Timeout(60)
class TransportTest {
    @TempDir
    static Path tmp;
    private static Path fileA;
    private static Path fileB;

    @BeforeAll
    static void keys() throws IOException {
        fileA = tmp.resolve("a.key");
        fileB = tmp.resolve("b.key");
        KeyFile.generate(fileA);
        KeyFile.generate(fileB);
    }

    private static AuthKey tls(Path f) throws IOException {
        return AuthKey.load(f, true);
    }

    /** The outcome of one connection: what each side returned or threw. */
    private record Outcome(Object client, Object server) {
    }

    private interface Side {
        Object run(SocketChannel ch) throws IOException;
    }

    /** Runs {@code server} on an accepted connection, {@code client} on the connecting one, through {@code proxy} if given. */
    private static Outcome connect(Side server, Side client, Recorder proxy) throws Exception {
        try (ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            CompletableFuture<Object> s = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel ch = l.accept()) {
                    return server.run(ch);
                } catch (IOException e) {
                    return e;
                }
            });
            InetSocketAddress target = (InetSocketAddress) l.getLocalAddress();
            if (proxy != null) {
                target = proxy.start(target);
            }
            Object c;
            try (SocketChannel ch = SocketChannel.open(target)) {
                c = client.run(ch);
            } catch (IOException e) {
                c = e;
            }
            return new Outcome(c, s.get(20, TimeUnit.SECONDS));
        }
    }

    /** Handshakes (transport, then lazymig's) then sends {@code data} as one frame and reads the peer's, at once. */
    private static Side exchange(AuthKey key, boolean server, byte[] data) {
        return ch -> swap(ConnectionDeadline.within(ch, Duration.ofSeconds(10), "handshake", () -> {
            FrameCodec codec = new FrameCodec(server ? "client" : "server");
            ByteChannel c = server ? Transport.of(key).server(ch, "client") : Transport.of(key).client(ch, "server");
            if (server) {
                Handshake.server(c, codec, key, new Handshake.Welcome(1, 2), "client");
            } else {
                Handshake.client(c, codec, key, "server");
            }
            return c;
        }), data);
    }

    /** Writes on another thread while reading here: the two directions at once, as sessions use them. */
    private static byte[] swap(ByteChannel c, byte[] data) throws IOException {
        CompletableFuture<Void> w = CompletableFuture.runAsync(() -> {
            try {
                new FrameCodec("w").write(c, FrameType.PAGES, 0, 7, new ByteBuffer[] {ByteBuffer.allocateDirect(20),
                        ByteBuffer.wrap(data)});
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        FrameCodec r = new FrameCodec("r");
        FrameCodec.Header h = r.readHeader(c);
        ByteBuffer head = ByteBuffer.allocate(20);
        ByteBuffer body = ByteBuffer.allocateDirect(h.length() - 20);
        r.readPayload(c, h, head, body);
        w.join();
        byte[] got = new byte[body.flip().remaining()];
        body.get(got);
        return got;
    }

    private static byte[] pattern(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        for (int i = 0; i + 16 <= n; i += 4096) {
            System.arraycopy("LAZYMIG-PATTERN!".getBytes(), 0, b, i, 16);
        }
        return b;
    }

    @Test
    void tlsCarriesFramesByteExactBothWaysAndHidesThem() throws Exception {
        byte[] toServer = pattern(3 << 20, 1);
        byte[] toClient = pattern((1 << 20) + 12345, 2);
        Recorder wire = new Recorder();
        Outcome o = connect(exchange(tls(fileA), true, toClient), exchange(tls(fileA), false, toServer), wire);
        assertArrayEquals(toServer, (byte[]) o.server(), String.valueOf(o.server()));
        assertArrayEquals(toClient, (byte[]) o.client(), String.valueOf(o.client()));
        assertTrue(wire.bytes() > 4 << 20, "the proxy saw " + wire.bytes() + " bytes");
        assertFalse(wire.contains("LAZYMIG-PATTERN!"), "the data's pattern crossed the wire in the clear");
    }

    @Test
    void plainCarriesFramesInTheClear() throws Exception {
        byte[] data = pattern(1 << 20, 3);
        Recorder wire = new Recorder();
        AuthKey plain = AuthKey.load(fileA);
        Outcome o = connect(exchange(plain, true, data), exchange(plain, false, data), wire);
        assertArrayEquals(data, (byte[]) o.server());
        assertTrue(wire.contains("LAZYMIG-PATTERN!"), "the recorder does not see the plain path's data");
    }

    @Test
    void anotherKeyFileIsOneLineOnBothSides() throws Exception {
        Outcome o = connect(exchange(tls(fileA), true, new byte[1]), exchange(tls(fileB), false, new byte[1]), null);
        assertThat(message(o.client()), containsString("authentication failed: the peer's certificate"));
        assertThat(message(o.client()), containsString("different key files"));
        assertThat(message(o.server()), containsString("refused our certificate: authentication failed"));
        assertThat(message(o.server()), containsString("different key files"));
    }

    @Test
    void plainClientOfTlsServerIsToldAtOnce() throws Exception {
        Outcome o = connect(exchange(tls(fileA), true, new byte[1]), exchange(AuthKey.load(fileA), false, new byte[1]),
                null);
        assertThat(message(o.client()), containsString("requires encryption"));
        assertThat(message(o.client()), containsString("--no-encryption"));
        assertThat(message(o.server()), containsString("without encryption"));
    }

    @Test
    void tlsClientOfPlainServerIsToldAtOnce() throws Exception {
        Outcome o = connect(exchange(AuthKey.load(fileA), true, new byte[1]), exchange(tls(fileA), false, new byte[1]),
                null);
        assertThat(message(o.client()), containsString("answered without TLS: it runs with --no-encryption"));
        assertThat(message(o.server()), containsString("speaks TLS"));
    }

    @Test
    void silentPeerIsDroppedAtTheDeadline() throws Exception {
        AuthKey k = tls(fileA);
        Outcome o = connect(ch -> ConnectionDeadline.within(ch, Duration.ofMillis(500), "client's handshake",
                () -> Transport.of(k).server(ch, "client")), TransportTest::silent, null);
        assertThat(message(o.server()), containsString("client's handshake did not complete within 0.5 s"));
        assertEquals(0, o.client());
        Outcome o2 = connect(ch -> ConnectionDeadline.within(ch, Duration.ofMillis(500), "server's handshake",
                () -> Transport.of(k).client(ch, "server")), TransportTest::silent, null);
        // roles swapped: the accepting side plays the client that waits on a silent server
        assertThat(message(o2.server()), containsString("server's handshake did not complete within 0.5 s"));
    }

    @Test
    void keyFileWithoutTlsPartIsRefusedForEncryption() throws Exception {
        Path old = tmp.resolve("old.key");
        AuthKey.generate(old);
        IOException e = assertThrows(IOException.class, () -> AuthKey.load(old, true));
        assertThat(e.getMessage(), containsString("run 'lazymig keygen NEWFILE' again"));
        assertNull(AuthKey.load(old).tls());
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> KeyFile.generate(fileA));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(fileA)));
    }

    /** A peer that connects and says nothing until the other end hangs up; returns what it was sent (a ClientHello or nothing). */
    private static Object silent(SocketChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        while (ch.read(b) >= 0) {
            if (!b.hasRemaining()) {
                b.clear();
            }
        }
        return b.position();
    }

    @Test
    void warmUpRunsTheTlsPathInMemory() throws Exception {
        TlsWarmup.run(tls(fileA).tls(), 4 << 20); // a handshake between two engines, then 4 MiB both through
        TlsWarmup.inBackground(AuthKey.load(fileA)); // plain: nothing to warm, returns at once
    }

    private static String message(Object o) {
        assertTrue(o instanceof IOException, "expected a failure, got " + o);
        return ((IOException) o).getMessage();
    }

    /** A TCP proxy that keeps every byte it carries, both ways (what an observer on the path sees). */
    private static final class Recorder {
        private final ByteArrayOutputStream seen = new ByteArrayOutputStream();

        InetSocketAddress start(InetSocketAddress target) throws IOException {
            ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
            Thread t = new Thread(() -> {
                try (l; SocketChannel in = l.accept(); SocketChannel out = SocketChannel.open(target)) {
                    Thread back = new Thread(() -> copy(out, in, seen));
                    back.setDaemon(true);
                    back.start();
                    copy(in, out, seen);
                    back.join(10_000);
                } catch (IOException | InterruptedException e) {
                    // the test sees what arrived
                }
            });
            t.setDaemon(true);
            t.start();
            return (InetSocketAddress) l.getLocalAddress();
        }

        private static void copy(SocketChannel from, SocketChannel to, ByteArrayOutputStream keep) {
            ByteBuffer b = ByteBuffer.allocate(64 * 1024);
            try {
                while (from.read(b) >= 0) {
                    b.flip();
                    if (keep != null) {
                        synchronized (keep) {
                            keep.write(b.array(), 0, b.limit());
                        }
                    }
                    while (b.hasRemaining()) {
                        to.write(b);
                    }
                    b.clear();
                }
                to.shutdownOutput();
            } catch (IOException e) {
                // one side gone
            }
        }

        int bytes() {
            synchronized (seen) {
                return seen.size();
            }
        }

        boolean contains(String s) {
            synchronized (seen) {
                return seen.toString(java.nio.charset.StandardCharsets.ISO_8859_1).contains(s);
            }
        }
    }
}
