package io.lazymig.protocol;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class HandshakeTest {
    @TempDir
    Path tmp;

    private AuthKey key(String name) throws IOException {
        Path p = tmp.resolve(name);
        AuthKey.generate(p);
        return AuthKey.load(p);
    }

    /** Runs the server side on another thread over loopback; returns (client result, server failure). */
    private Object[] connect(AuthKey serverKey, AuthKey clientKey) throws Exception {
        try (ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            CompletableFuture<Void> server = CompletableFuture.runAsync(() -> {
                try (SocketChannel s = l.accept()) {
                    Handshake.server(s, new FrameCodec("client"), serverKey, new Handshake.Welcome(42, 1000), "client");
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Object client;
            try (SocketChannel c = SocketChannel.open(l.getLocalAddress())) {
                client = Handshake.client(c, new FrameCodec("server"), clientKey, "server");
            } catch (IOException e) {
                client = e;
            }
            Throwable serverFailure = null;
            try {
                server.get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                serverFailure = e.getCause().getCause();
            }
            return new Object[] {client, serverFailure};
        }
    }

    @Test
    void sameKeyIsWelcome() throws Exception {
        AuthKey k = key("k");
        Object[] r = connect(k, k);
        assertEquals(new Handshake.Welcome(42, 1000), r[0]);
        assertEquals(null, r[1]);
    }

    @Test
    void noAuthOnBothSidesIsWelcome() throws Exception {
        Object[] r = connect(null, null);
        assertEquals(new Handshake.Welcome(42, 1000), r[0]);
    }

    @Test
    void wrongKeyIsRefusedOnBothSides() throws Exception {
        Object[] r = connect(key("a"), key("b"));
        assertThat(((Exception) r[0]).getMessage(), containsString("holds a different key"));
        assertThat(((Exception) r[1]).getMessage(), containsString("different key"));
    }

    @Test
    void clientWithoutKeyIsRefused() throws Exception {
        Object[] r = connect(key("a"), null);
        assertThat(((Exception) r[0]).getMessage(), containsString("authentication required"));
        assertThat(((Exception) r[1]).getMessage(), containsString("authentication required"));
    }

    @Test
    void clientWithKeyRefusesAServerWithout() throws Exception {
        Object[] r = connect(null, key("a"));
        assertThat(((Exception) r[0]).getMessage(), containsString("--no-auth"));
        assertThat(((Exception) r[1]).getMessage(), containsString("runs with --no-auth"));
    }

    /** The server learns the client's capability bits: a fault channel says so, a plain client says nothing. */
    @Test
    void theServerLearnsTheClientsCapabilities() throws Exception {
        AuthKey k = key("k");
        for (int caps : new int[] {Handshake.CAPABILITIES, Handshake.FAULT_CHANNEL}) {
            try (ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
                CompletableFuture<Integer> server = CompletableFuture.supplyAsync(() -> {
                    try (SocketChannel s = l.accept()) {
                        return Handshake.server(s, new FrameCodec("client"), k, new Handshake.Welcome(42, 1000), "client");
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                try (SocketChannel c = SocketChannel.open(l.getLocalAddress())) {
                    assertEquals(new Handshake.Welcome(42, 1000), Handshake.client(c, new FrameCodec("server"), k, "server", caps));
                }
                assertEquals(caps, server.get(10, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void keyFileRules() throws Exception {
        IOException missing = assertThrows(IOException.class, () -> AuthKey.load(tmp.resolve("none")));
        assertThat(missing.getMessage(), containsString("lazymig keygen"));
        Files.write(tmp.resolve("short"), new byte[8]);
        assertThrows(IOException.class, () -> AuthKey.load(tmp.resolve("short")));
        AuthKey.generate(tmp.resolve("g"));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(tmp.resolve("g"))));
        assertEquals(32, Files.size(tmp.resolve("g")));
    }
}
