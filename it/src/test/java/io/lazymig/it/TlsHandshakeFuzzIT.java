package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.lazyclient.RemotePageSource;
import io.lazymig.protocol.AuthKey;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TLS handshake under hostile input: the lazy server with encryption (the default) gets
 * {@value #HELLOS} ClientHellos — the one lazymig's own client sends (captured here), with bytes
 * flipped, length fields made huge or zero, cut at a random point, bytes inserted, records
 * repeated, or replaced by random bytes under a handshake record header — from {@value #WORKERS}
 * connections at a time, each ended by our EOF. Every connection is closed by the server within
 * {@link WireFuzzIT#HANG} (no hang), a real client fetches the images byte-exact (the dump's; the
 * pagemaps and eager pages as first served) throughout and after, the server lives on, its log holds no stack trace and no unprintable line. Seeded:
 * {@code -Dlazymig.fuzz.seed=N} (printed).
 */
class TlsHandshakeFuzzIT {
    static final int HELLOS = 3_000;
    static final int WORKERS = 3;

    @TempDir
    Path dir;

    @Test
    @Timeout(300)
    void lazyServerSurvivesMutatedClientHellos() throws Exception {
        long seed = WireFuzzer.seed();
        System.out.println("TlsHandshakeFuzzIT: seed " + seed + " (-D" + WireFuzzer.SEED_PROPERTY + "=" + seed + " repeats it)");
        Path keyFile = dir.resolve("tls.key");
        RestoreLauncher.Result keygen = RestoreLauncher.run(dir, "keygen", keyFile.toString());
        assertEquals(0, keygen.exit(), keygen.toString());
        AuthKey key = AuthKey.load(keyFile, true);
        Path images = dir.resolve("images");
        try (RestoreWorkload w = RestoreWorkload.c(dir, "checksum-loop", "4", "1000")) {
            w.awaitLine("its first line", l -> true);
            RestoreLauncher.Result dump = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D", images.toString());
            assertEquals(0, dump.exit(), dump.toString());
        }
        byte[] hello = capturedClientHello(key);
        assertEquals(22, hello[0], "not a TLS handshake record");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (RestoreLauncher.Running server = RestoreLauncher.start(dir.resolve("server.log"), "lazy-pages",
                "--lazy-server", "-D", images.toString(), "--port", Integer.toString(port), "--address", "127.0.0.1",
                "--auth-key", keyFile.toString(), "-v", "2")) {
            server.awaitLog("lazy-server: serving process");
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
            Map<String, byte[]> first = fetchAndCompare(address, key, images, dir.resolve("fetch-first"), null);

            AtomicBoolean fuzzing = new AtomicBoolean(true);
            AtomicInteger rounds = new AtomicInteger();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            Thread steady = new Thread(() -> {
                try {
                    do {
                        fetchAndCompare(address, key, images, dir.resolve("fetch-steady"), first);
                        rounds.incrementAndGet();
                    } while (fuzzing.get());
                } catch (Throwable e) {
                    failures.add("the real client failed during the fuzz: " + e);
                }
            }, "steady client");
            steady.start();
            AtomicInteger sent = new AtomicInteger();
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < WORKERS; i++) {
                Random rnd = new Random(seed + i);
                Thread t = new Thread(() -> {
                    for (int n = 0; n < HELLOS / WORKERS + 1 && failures.isEmpty(); n++) {
                        byte[] bytes = mutate(hello, rnd);
                        try (SocketChannel ch = SocketChannel.open(address)) {
                            try {
                                ch.write(ByteBuffer.wrap(bytes));
                                ch.shutdownOutput();
                            } catch (IOException e) {
                                // the server hung up before reading it all: its right
                            }
                            if (!WireFuzzIT.closedByPeer(ch)) {
                                failures.add("hello " + n + " of worker (seed " + (seed) + "): the server did not end the "
                                        + "connection within " + WireFuzzIT.HANG + ": " + toHex(bytes));
                            }
                            sent.incrementAndGet();
                        } catch (IOException e) {
                            failures.add("cannot connect to the server: " + e);
                        }
                    }
                }, "tls fuzz " + i);
                workers.add(t);
                t.start();
            }
            for (Thread t : workers) {
                t.join();
            }
            fuzzing.set(false);
            steady.join();
            assertTrue(failures.isEmpty(), "seed " + seed + ": " + String.join("\n", failures));
            assertTrue(sent.get() >= HELLOS, sent + " hellos");
            assertTrue(server.process.isAlive(), server.log());
            fetchAndCompare(address, key, images, dir.resolve("fetch-last"), first);
            String log = server.log();
            List<String> bad = log.lines().filter(l -> l.contains("Exception in thread") || l.startsWith("\tat ")
                    || l.contains("OutOfMemoryError") || l.matches("^[0-9:.]+ ERROR .*") || !l.matches("\\P{Cntrl}*")).limit(20)
                    .toList();
            assertTrue(bad.isEmpty(), "seed " + seed + ": the server's log shows a failure:\n" + String.join("\n", bad));
            long warnings = log.lines().filter(l -> l.contains(" WARN ")).count();
            System.out.printf("TlsHandshakeFuzzIT: seed %d: %d mutated ClientHellos (of %d bytes), each connection ended "
                    + "by the server; %d warnings in its log; the real client fetched the images byte-exact %d times "
                    + "during%n", seed, sent.get(), hello.length, warnings, rounds.get());
        }
    }

    /** The first TLS record lazymig's client sends (its ClientHello), read by a listener that then hangs up. */
    private static byte[] capturedClientHello(AuthKey key) throws Exception {
        try (ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            Thread client = new Thread(() -> {
                RemotePageSource src = new RemotePageSource((InetSocketAddress) localAddress(l), key, Duration.ofSeconds(1), false);
                try {
                    src.connect();
                } catch (IOException e) {
                    // we hung up on it
                } finally {
                    try {
                        src.close();
                    } catch (IOException ignored) {
                        // closed already
                    }
                }
            }, "client whose hello is captured");
            client.start();
            byte[] record;
            try (SocketChannel ch = l.accept()) {
                ByteBuffer header = ByteBuffer.allocate(5);
                readFully(ch, header);
                int len = ((header.get(3) & 0xff) << 8) | (header.get(4) & 0xff);
                ByteBuffer body = ByteBuffer.allocate(len);
                readFully(ch, body);
                record = new byte[5 + len];
                System.arraycopy(header.array(), 0, record, 0, 5);
                System.arraycopy(body.array(), 0, record, 5, len);
            }
            client.join();
            return record;
        }
    }

    private static java.net.SocketAddress localAddress(ServerSocketChannel l) {
        try {
            return l.getLocalAddress();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void readFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new IOException("the client closed after " + b.position() + " bytes");
            }
        }
    }

    /** One hostile hello: the captured one changed in one of several ways. */
    static byte[] mutate(byte[] hello, Random rnd) {
        byte[] b = hello.clone();
        switch (rnd.nextInt(8)) {
            case 0 -> { // a few bytes flipped
                for (int i = 1 + rnd.nextInt(8); i > 0; i--) {
                    b[rnd.nextInt(b.length)] ^= (byte) (1 + rnd.nextInt(255));
                }
            }
            case 1 -> { // a length field (record, handshake, or any u16/u24 inside) huge or zero
                int at = rnd.nextInt(3) == 0 ? 3 : rnd.nextInt(3) == 0 ? 6 : 5 + rnd.nextInt(b.length - 6);
                int v = rnd.nextBoolean() ? 0xff : 0;
                b[at] = (byte) v;
                b[Math.min(at + 1, b.length - 1)] = (byte) (rnd.nextBoolean() ? 0xff : v);
            }
            case 2 -> b = Arrays.copyOf(b, rnd.nextInt(b.length)); // cut anywhere
            case 3 -> { // bytes inserted
                int at = rnd.nextInt(b.length);
                byte[] junk = new byte[1 + rnd.nextInt(64)];
                rnd.nextBytes(junk);
                byte[] out = new byte[b.length + junk.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(junk, 0, out, at, junk.length);
                System.arraycopy(b, at, out, at + junk.length, b.length - at);
                b = out;
            }
            case 4 -> { // the record twice, the second one mutated
                byte[] second = mutate(hello, rnd);
                byte[] out = Arrays.copyOf(b, b.length + second.length);
                System.arraycopy(second, 0, out, b.length, second.length);
                b = out;
            }
            case 5 -> { // random bytes under a handshake record header of the same length
                byte[] body = new byte[b.length - 5];
                rnd.nextBytes(body);
                System.arraycopy(body, 0, b, 5, body.length);
            }
            case 6 -> { // a byte in the first 64 (versions, random, session id, the suites' start) set at random
                for (int i = 1 + rnd.nextInt(4); i > 0; i--) {
                    b[rnd.nextInt(Math.min(64, b.length))] = (byte) rnd.nextInt(256);
                }
            }
            default -> { // a byte in the extensions (the tail) set at random, and maybe cut after it
                int at = b.length / 2 + rnd.nextInt(b.length - b.length / 2);
                b[at] = (byte) rnd.nextInt(256);
                if (rnd.nextBoolean()) {
                    b = Arrays.copyOf(b, at + 1);
                }
            }
        }
        return b;
    }

    /**
     * Fetches every image the server offers with lazymig's TLS client: the first time (no
     * {@code baseline}) each one but the pagemaps and pages (served without the lazy pages, which
     * come by GET_PAGES) must equal the dump's; after, every image equals the first fetch's.
     */
    private static Map<String, byte[]> fetchAndCompare(InetSocketAddress address, AuthKey key, Path images, Path into,
            Map<String, byte[]> baseline) throws IOException {
        Map<String, byte[]> got = new TreeMap<>();
        RemotePageSource src = new RemotePageSource(address, key, Duration.ofSeconds(1), false);
        try {
            src.connect();
            List<String> names = src.fetchImages(into);
            assertTrue(!names.isEmpty(), "no image fetched");
            for (String n : names) {
                byte[] bytes = Files.readAllBytes(into.resolve(n));
                got.put(n, bytes);
                if (baseline != null) {
                    assertArrayEquals(baseline.get(n), bytes, n);
                } else if (!n.startsWith("pagemap-") && !n.startsWith("pages-")) {
                    assertArrayEquals(Files.readAllBytes(images.resolve(n)), bytes, n);
                }
            }
        } finally {
            src.close();
        }
        if (baseline != null) {
            assertEquals(baseline.keySet(), got.keySet());
        }
        try (var s = Files.list(into)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
        return got;
    }

    private static String toHex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02x", x));
        }
        return s.toString();
    }
}
