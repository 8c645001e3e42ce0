package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.ImageDir;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesFile;
import io.lazymig.images.ProtoConvert;
import io.lazymig.lazyclient.RemotePageSource;
import io.lazymig.migrate.Agent;
import io.lazymig.migrate.ImageReceiver;
import io.lazymig.protocol.AuthKey;
import io.lazymig.protocol.ConnectionDeadline;
import io.lazymig.protocol.Frame;
import io.lazymig.protocol.FrameCodec;
import io.lazymig.protocol.FrameType;
import io.lazymig.protocol.Handshake;
import io.lazymig.protocol.Messages;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lazy server under hostile input, in a JVM of its own ({@code lazymig lazy-pages
 * --lazy-server}, as operators run it): at least {@value #FRAMES} seeded frames — garbage,
 * plausible and huge length prefixes, valid frames with mutated fields, frames truncated at every
 * boundary — before and after authentication with the right key, from {@value #WORKERS}
 * connections at a time, while a real client fetches every lazy page again and again, byte-exact
 * against the dump's pages file; silent peers are dropped at the handshake deadline. Then the
 * server is alive, a fresh client is served byte-exact, nothing failed in its log, and its RSS is
 * within {@value #RSS_FACTOR}x of what it was idle (after two fetches; both measured once the C
 * heap's free memory is given back, as the launcher's -XX:TrimNativeHeapInterval does). Seed:
 * {@code -Dlazymig.fuzz.seed=N} (printed).
 */
class WireFuzzIT {
    static final int FRAMES = 100_000;
    static final int DAEMON_FRAMES = 30_000;
    static final int AGENT_FRAMES = 10_000;
    static final int IMAGE_PARTS = 30_000;
    static final int WORKERS = 3;
    static final double RSS_FACTOR = 1.2;
    static final int SILENT_PEERS = 6;
    /** A connection the server does not end in this time is a hang (its handshake deadline is 10 s). */
    static final Duration HANG = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    @Timeout(300)
    void lazyServerSurvivesHostileFramesAndServesOthersByteExact() throws Exception {
        long seed = WireFuzzer.seed();
        System.out.println("WireFuzzIT: seed " + seed + " (-D" + WireFuzzer.SEED_PROPERTY + "=" + seed + " repeats it)");
        Path keyFile = dir.resolve("auth.key");
        AuthKey.generate(keyFile);
        AuthKey key = AuthKey.load(keyFile);
        Path images = dir.resolve("images");
        int pid;
        try (RestoreWorkload w = RestoreWorkload.c(dir, "checksum-loop", "16", "1000")) {
            w.awaitLine("its first line", l -> true);
            pid = w.pid;
            RestoreLauncher.Result dump = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(pid), "-D",
                    images.toString(), "--auth-key", keyFile.toString(), "--no-encryption");
            assertEquals(0, dump.exit(), dump.toString());
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Checker checker = new Checker(images, pid);
        try (RestoreLauncher.Running server = RestoreLauncher.start(dir.resolve("server.log"), "lazy-pages",
                "--lazy-server", "-D", images.toString(), "--port", Integer.toString(port), "--address", "127.0.0.1",
                "--auth-key", keyFile.toString(), "--no-encryption", "-v", "2")) {
            server.awaitLog("lazy-server: serving process");
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
            long serverPid = server.process.pid();
            checker.fetchAll(address, key);
            checker.fetchAll(address, key);
            long idleRaw = rssKiB(serverPid);
            long idle = trimmedRssKiB(serverPid);

            List<SocketChannel> silent = new ArrayList<>();
            for (int i = 0; i < SILENT_PEERS; i++) {
                SocketChannel ch = SocketChannel.open(address);
                if (i % 2 == 1) {
                    ch.write(ByteBuffer.wrap(new byte[] {24, 0, 0, 0, 1, 0})); // the start of a HELLO, no more
                }
                silent.add(ch);
            }
            AtomicBoolean fuzzing = new AtomicBoolean(true);
            AtomicInteger rounds = new AtomicInteger();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            Thread steady = new Thread(() -> {
                try {
                    do {
                        checker.fetchAll(address, key);
                        rounds.incrementAndGet();
                    } while (fuzzing.get());
                } catch (Throwable e) {
                    failures.add("the real client failed during the fuzz: " + e);
                }
            }, "steady client");
            steady.start();
            AtomicLong frames = new AtomicLong();
            AtomicLong connections = new AtomicLong();
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < WORKERS; i++) {
                ServerFuzz f = new ServerFuzz(new WireFuzzer(seed + i), address, key, pid, checker, frames, connections,
                        failures);
                Thread t = new Thread(() -> f.run(FRAMES / WORKERS + 1), "fuzz " + i);
                workers.add(t);
                t.start();
            }
            for (Thread t : workers) {
                t.join();
            }
            fuzzing.set(false);
            steady.join();
            assertTrue(failures.isEmpty(), "seed " + seed + ": " + String.join("\n", failures));
            assertTrue(frames.get() >= FRAMES, frames + " frames");

            for (SocketChannel ch : silent) {
                assertTrue(closedByPeer(ch), "seed " + seed + ": a silent peer was not dropped within " + HANG);
                ch.close();
            }
            server.awaitLog("handshake did not complete within 10 s: dropped");
            assertTrue(server.process.isAlive(), server.log());
            assertEquals(checker.lazyPages, checker.fetchAll(address, key));
            long afterRaw = rssKiB(serverPid);
            long after = trimmedRssKiB(serverPid);
            System.out.printf("WireFuzzIT: seed %d: %d frames on %d connections; the real client fetched every lazy page "
                    + "(%d) byte-exact %d times during; server RSS idle %d KiB, after %d KiB (%.2fx); before the C heap's "
                    + "trim %d and %d KiB%n", seed, frames.get(), connections.get(), checker.lazyPages, rounds.get(), idle, after,
                    (double) after / idle, idleRaw, afterRaw);
            String log = server.log();
            List<String> bad = log.lines().filter(l -> l.contains("Exception in thread") || l.startsWith("\tat ")
                    || l.contains("OutOfMemoryError") || l.matches("^[0-9:.]+ ERROR .*") || !l.matches("\\P{Cntrl}*")).limit(20)
                    .toList();
            assertTrue(bad.isEmpty(), "seed " + seed + ": the server's log shows a failure:\n" + String.join("\n", bad));
            assertTrue(after <= idle * RSS_FACTOR, "seed " + seed + ": server RSS " + after + " KiB after the fuzz, idle "
                    + idle + " KiB: beyond " + RSS_FACTOR + "x");
        }
    }

    /**
     * The daemon's side ({@link RemotePageSource}: handshake, image listing and fetch) against a
     * hostile lazy server played here: garbage, challenges and welcomes mutated or cut at each
     * boundary, image listings and image parts with bad fields; every fetch ends in an
     * IOException or a success, never anything else nor a hang; a silent server is dropped at the
     * handshake deadline; then a clean server's images arrive byte-exact.
     */
    @Test
    @Timeout(240)
    void daemonSideSurvivesAHostileServer() throws Exception {
        long seed = WireFuzzer.seed();
        System.out.println("WireFuzzIT: daemon side: seed " + seed + " (-D" + WireFuzzer.SEED_PROPERTY + "=" + seed
                + " repeats it)");
        Path keyFile = dir.resolve("auth.key");
        AuthKey.generate(keyFile);
        AuthKey key = AuthKey.load(keyFile);
        HostileServer hostile = new HostileServer(new WireFuzzer(seed), Files.readAllBytes(keyFile));
        try (ServerSocketChannel silent = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
             ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            AtomicReference<Throwable> silentOutcome = new AtomicReference<>();
            Thread silentClient = new Thread(() -> {
                RemotePageSource src = new RemotePageSource((InetSocketAddress) localAddress(silent), key, Duration.ofSeconds(1),
                        false);
                try {
                    src.connect();
                } catch (Throwable e) {
                    silentOutcome.set(e);
                }
            }, "client of a silent server");
            silentClient.start();
            InetSocketAddress address = (InetSocketAddress) l.getLocalAddress();
            AtomicReference<Throwable> serverFailure = new AtomicReference<>();
            Thread server = new Thread(() -> {
                try {
                    while (true) {
                        try (SocketChannel ch = l.accept()) {
                            hostile.play(ch);
                        } catch (IOException e) {
                            if (!l.isOpen()) {
                                return;
                            }
                            // the client hung up on us: that is its right
                        }
                    }
                } catch (Throwable e) {
                    serverFailure.set(e);
                }
            }, "hostile server");
            server.setDaemon(true);
            server.start();
            int refused = 0;
            int fetched = 0;
            for (int i = 0; hostile.frames.get() < DAEMON_FRAMES; i++) {
                Path into = dir.resolve("fetch-" + (i % 4));
                RemotePageSource src = new RemotePageSource(address, key, Duration.ofSeconds(1), false);
                try {
                    src.connect();
                    src.fetchImages(into);
                    fetched++;
                } catch (IOException e) {
                    refused++;
                } catch (RuntimeException | Error e) {
                    throw new AssertionError("seed " + seed + ", connection " + i + ": the daemon's side failed with " + e, e);
                } finally {
                    src.close();
                }
                deleteFiles(into);
            }
            hostile.clean = true;
            Path last = dir.resolve("fetch-clean");
            RemotePageSource src = new RemotePageSource(address, key, Duration.ofSeconds(1), false);
            src.connect();
            List<String> names = src.fetchImages(last);
            src.close();
            assertEquals(hostile.cleanImages.keySet(), new java.util.TreeSet<>(names));
            for (var e : hostile.cleanImages.entrySet()) {
                assertTrue(java.util.Arrays.equals(e.getValue(), Files.readAllBytes(last.resolve(e.getKey()))), e.getKey());
            }
            silentClient.join();
            assertTrue(silentOutcome.get() != null && String.valueOf(silentOutcome.get().getMessage()).contains(
                    "did not complete within 10 s"), "a silent server: " + silentOutcome.get());
            l.close();
            assertEquals(null, serverFailure.get());
            System.out.printf("WireFuzzIT: daemon side: seed %d: %d frames from a hostile server; %d fetches refused with "
                    + "an error, %d completed; a silent server dropped at the deadline; the clean fetch byte-exact%n", seed,
                    hostile.frames.get(), refused, fetched);
        }
    }

    private static java.net.SocketAddress localAddress(ServerSocketChannel l) {
        try {
            return l.getLocalAddress();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void deleteFiles(Path d) throws IOException {
        if (Files.isDirectory(d)) {
            try (var s = Files.list(d)) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    /** A lazy server that lies: one connection at a time, from one seeded generator. */
    private static final class HostileServer {
        private final WireFuzzer f;
        private final byte[] key;
        final AtomicLong frames = new AtomicLong();
        final java.util.TreeMap<String, byte[]> cleanImages = new java.util.TreeMap<>();
        volatile boolean clean;
        private int session;

        HostileServer(WireFuzzer f, byte[] key) {
            this.f = f;
            this.key = key;
            byte[] a = new byte[70_000];
            f.rnd.nextBytes(a);
            cleanImages.put("core-1.img", a);
            cleanImages.put("empty.img", new byte[0]);
        }

        private byte[] mac(byte[]... parts) {
            try {
                javax.crypto.Mac m = javax.crypto.Mac.getInstance("HmacSHA256");
                m.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
                for (byte[] p : parts) {
                    m.update(p);
                }
                return m.doFinal();
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Sends a frame, maybe mutated (1 in {@code odds}); a mutated one ends the connection (returns false). */
        private boolean send(SocketChannel ch, byte[] frame, int odds) throws IOException {
            frames.incrementAndGet();
            boolean broken = !clean && f.rnd.nextInt(odds) == 0;
            byte[] out = broken ? (f.rnd.nextBoolean() ? f.mutate(frame)
                    : java.util.Arrays.copyOf(frame, session % (frame.length + 1))) : frame;
            ch.write(ByteBuffer.wrap(out));
            return !broken;
        }

        void play(SocketChannel ch) throws IOException {
            session++;
            FrameCodec codec = new FrameCodec("daemon");
            Frame hello = codec.read(ch, 256);
            ByteBuffer h = hello.payload();
            h.position(12);
            byte[] clientNonce = new byte[32];
            h.get(clientNonce);
            if (!clean && f.rnd.nextInt(10) == 0) { // garbage for a challenge
                frames.incrementAndGet();
                ch.write(ByteBuffer.wrap(f.rnd.nextBoolean() ? f.bytes(200) : f.header(f.rnd.nextBoolean() ? f.plausibleLength()
                        : f.hugeLength(), f.rnd.nextInt(100))));
                return;
            }
            byte[] serverNonce = new byte[32];
            f.rnd.nextBytes(serverNonce);
            byte[] proof = !clean && f.rnd.nextInt(20) == 0 ? f.bytes(32) : mac("lazymig-server".getBytes(
                    StandardCharsets.US_ASCII), clientNonce, serverNonce);
            ByteBuffer c = WireFuzzer.le(8 + 64).putShort((short) Handshake.VERSION).putShort((short) 1).putInt(0)
                    .put(serverNonce).put(java.util.Arrays.copyOf(proof, 32));
            if (!send(ch, WireFuzzer.frame(FrameType.CHALLENGE, 0, 0, c.array()), 8)) {
                return;
            }
            codec.read(ch, 256); // AUTH
            ByteBuffer w = WireFuzzer.le(12).putInt(f.rnd.nextInt()).putLong(f.rnd.nextLong());
            if (!send(ch, WireFuzzer.frame(FrameType.WELCOME, 0, 0, w.array()), 8)) {
                return;
            }
            Frame list = codec.read(ch, 1024);
            java.util.TreeMap<String, byte[]> offered = new java.util.TreeMap<>();
            List<Messages.ImageInfo> infos = new ArrayList<>();
            if (clean) {
                offered.putAll(cleanImages);
                cleanImages.forEach((n, d) -> infos.add(new Messages.ImageInfo(n, d.length)));
            } else {
                for (int i = f.rnd.nextInt(4); i > 0; i--) {
                    String name = switch (f.rnd.nextInt(6)) {
                        case 0 -> "../escape.img";
                        case 1 -> "x/" + f.rnd.nextInt(10) + ".img";
                        default -> "img-" + f.rnd.nextInt(1000) + ".img";
                    };
                    int q = f.rnd.nextInt(50);
                    long size = q == 0 ? f.rnd.nextLong() : q == 1 ? (5L << 20) + f.rnd.nextInt(1000) : f.rnd.nextInt(20_000);
                    byte[] data = new byte[(int) Math.max(0, Math.min(size, 6 << 20))];
                    f.rnd.nextBytes(data);
                    offered.put(name, data);
                    infos.add(new Messages.ImageInfo(name, size));
                }
            }
            ByteBuffer l = Messages.imageList(infos);
            byte[] lb = new byte[l.remaining()];
            l.get(lb);
            if (!send(ch, WireFuzzer.frame(FrameType.IMAGES, 0, list.id(), lb), 8)) {
                return;
            }
            while (true) {
                Frame req;
                try {
                    req = codec.read(ch, 1024);
                } catch (java.io.EOFException e) {
                    return; // the client is done (or gave up)
                }
                if (req.type() == FrameType.BYE) {
                    return;
                }
                Messages.ImageRequest r = Messages.imageRequest(req.payload());
                byte[] data = offered.getOrDefault(r.name(), new byte[0]);
                int from = (int) Math.min(r.offset(), data.length);
                int len = Math.min(r.length(), data.length - from);
                long offset = !clean && f.rnd.nextInt(30) == 0 ? f.rnd.nextLong() : r.offset();
                ByteBuffer p = WireFuzzer.le(8 + len).putLong(offset).put(data, from, len);
                FrameType t = !clean && f.rnd.nextInt(30) == 0 ? FrameType.values()[f.rnd.nextInt(FrameType.values().length)]
                        : FrameType.IMAGE;
                if (!send(ch, WireFuzzer.frame(t, 0, req.id(), p.array()), 12)) {
                    return;
                }
            }
        }
    }

    /**
     * The agent (a root service that runs what it is sent) under hostile connections: garbage and
     * broken hellos before authentication, mutated migrate requests after it; it refuses each
     * with an error or hangs up, never hangs, and answers a proper request after them. Its image
     * parser takes {@value #IMAGE_PARTS} mutated FILE frames: each written inside the image
     * directory under a plain image name within the size bound, or refused with a protocol error.
     */
    @Test
    @Timeout(240)
    void agentRefusesHostileRequests() throws Exception {
        long seed = WireFuzzer.seed();
        System.out.println("WireFuzzIT: agent: seed " + seed + " (-D" + WireFuzzer.SEED_PROPERTY + "=" + seed
                + " repeats it)");
        Path keyFile = dir.resolve("auth.key");
        AuthKey.generate(keyFile);
        AuthKey key = AuthKey.load(keyFile);
        WireFuzzer f = new WireFuzzer(seed);
        Agent.Options o = new Agent.Options(new InetSocketAddress("127.0.0.1", 0), key, dir.resolve("agent"),
                dir.resolve("no-stub"), Duration.ofSeconds(10), "none", 64 * 1024, 1 << 20, 4, 0, 1 << 20, null);
        long frames = 0;
        int refusals = 0;
        try (Agent agent = new Agent(o)) {
            Thread t = new Thread(() -> {
                try {
                    agent.serve();
                } catch (IOException e) {
                    // closed
                }
            }, "agent");
            t.setDaemon(true);
            t.start();
            InetSocketAddress address = agent.address();
            while (frames < AGENT_FRAMES) {
                try (SocketChannel ch = SocketChannel.open(address)) {
                    if (f.rnd.nextInt(10) < 6) {
                        byte[] out = switch (f.rnd.nextInt(3)) {
                            case 0 -> f.bytes(600);
                            case 1 -> f.header(f.rnd.nextBoolean() ? f.plausibleLength() : f.hugeLength(), f.rnd.nextInt(200));
                            default -> f.mutate(WireFuzzer.frame(FrameType.HELLO, 0, 0, f.bytes(44)));
                        };
                        frames++;
                        try {
                            ch.write(ByteBuffer.wrap(out));
                            ch.shutdownOutput();
                        } catch (IOException e) {
                            // refused already
                        }
                    } else {
                        FrameCodec codec = new FrameCodec("agent");
                        ConnectionDeadline.within(ch, HANG, "the agent", () -> Handshake.client(ch, codec, key, "agent"));
                        String text = switch (f.rnd.nextInt(5)) {
                            case 0 -> "kind=migrate\npid=" + f.rnd.nextInt() + "\nany-pid=" + f.rnd.nextInt(3) + "\n";
                            case 1 -> "kind=migrate\npid=" + new String(f.bytes(30), StandardCharsets.ISO_8859_1) + "\n";
                            case 2 -> "kind=" + new String(f.bytes(40), StandardCharsets.UTF_8) + "\n";
                            case 3 -> "pid=1\n".repeat(1 + f.rnd.nextInt(3000));
                            default -> new String(f.bytes(500), StandardCharsets.UTF_8);
                        };
                        byte[] frame = WireFuzzer.frame(f.rnd.nextInt(8) == 0 ? FrameType.FILE : FrameType.CONTROL, 0, 0,
                                text.getBytes(StandardCharsets.UTF_8));
                        if (f.rnd.nextInt(4) == 0) {
                            frame = f.mutate(frame);
                        }
                        frames += 2;
                        try {
                            ch.write(ByteBuffer.wrap(frame));
                            ch.shutdownOutput();
                        } catch (IOException e) {
                            // refused already
                        }
                    }
                    assertTrue(closedByPeer(ch), "seed " + seed + ": the agent kept a connection open beyond " + HANG);
                }
            }
            try (SocketChannel ch = SocketChannel.open(address)) {
                FrameCodec codec = new FrameCodec("agent");
                Handshake.client(ch, codec, key, "agent");
                codec.write(ch, FrameType.CONTROL, 0, 0, ByteBuffer.wrap("kind=migrate\npid=1\n".getBytes(
                        StandardCharsets.UTF_8)));
                Frame reply = ConnectionDeadline.within(ch, HANG, "the agent", () -> codec.read(ch, 4096));
                assertEquals(FrameType.ERROR, reply.type());
                String why = io.lazymig.protocol.Errors.decode(reply.payload()).message();
                assertTrue(why.contains("pid 1 is taken") || why.contains("restore stub"), why);
            }
        }
        Path images = dir.resolve("parser");
        Files.createDirectories(images);
        long max = 16 << 20;
        ImageReceiver receiver = new ImageReceiver(images, max, "fuzz");
        for (int i = 0; i < IMAGE_PARTS; i++) {
            String name = switch (f.rnd.nextInt(6)) {
                case 0 -> "../../escape.img";
                case 1 -> "/etc/x.img";
                case 2 -> new String(f.bytes(20), StandardCharsets.ISO_8859_1) + ".img";
                default -> "part-" + f.rnd.nextInt(40) + ".img";
            };
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            long offset = f.rnd.nextInt(4) == 0 ? f.rnd.nextLong() : f.rnd.nextInt(1 << 18);
            byte[] data = f.bytes(f.rnd.nextInt(50) == 0 ? 300_000 : 2000);
            byte[] p = WireFuzzer.le(2 + n.length + 8 + data.length).putShort((short) n.length).put(n).putLong(offset)
                    .put(data).array();
            if (f.rnd.nextInt(3) == 0) {
                p = java.util.Arrays.copyOf(f.mutate(WireFuzzer.frame(FrameType.FILE, 0, 0, p)), Math.max(0, p.length));
            }
            try {
                receiver.write(ByteBuffer.wrap(p).order(java.nio.ByteOrder.LITTLE_ENDIAN));
            } catch (io.lazymig.protocol.ProtocolException e) {
                refusals++;
            } catch (IOException | RuntimeException e) {
                throw new AssertionError("seed " + seed + ", part " + i + ": the image parser failed with " + e, e);
            }
        }
        long total = 0;
        try (var s = Files.list(images)) {
            for (Path p : s.toList()) {
                assertTrue(p.getFileName().toString().matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\.img"), p.toString());
                total += Files.size(p);
            }
        }
        assertTrue(total <= max, total + " bytes of images, beyond " + max);
        assertFalse(Files.exists(dir.resolve("escape.img")) || Files.exists(dir.getParent().resolve("escape.img")));
        System.out.printf("WireFuzzIT: agent: seed %d: %d frames on its socket, every connection ended by the agent, a "
                + "proper request answered after them; %d image parts (%d refused), %d bytes written inside its directory%n",
                seed, frames, IMAGE_PARTS, refusals, total);
    }

    /** One fuzzing connection after another, until its share of frames is sent. */
    private static final class ServerFuzz {
        private final WireFuzzer f;
        private final InetSocketAddress address;
        private final AuthKey key;
        private final int pid;
        private final Checker checker;
        private final AtomicLong frames;
        private final AtomicLong connections;
        private final ConcurrentLinkedQueue<String> failures;
        private int session;

        ServerFuzz(WireFuzzer f, InetSocketAddress address, AuthKey key, int pid, Checker checker, AtomicLong frames,
                   AtomicLong connections, ConcurrentLinkedQueue<String> failures) {
            this.f = f;
            this.address = address;
            this.key = key;
            this.pid = pid;
            this.checker = checker;
            this.frames = frames;
            this.connections = connections;
            this.failures = failures;
        }

        void run(long quota) {
            long sent = 0;
            try {
                while (sent < quota && failures.isEmpty()) {
                    sent += f.rnd.nextInt(10) < 7 ? beforeAuth() : afterAuth();
                    connections.incrementAndGet();
                }
            } catch (Throwable e) {
                failures.add(Thread.currentThread().getName() + ": " + e);
            }
            frames.addAndGet(sent);
        }

        private byte[] hello() {
            ByteBuffer p = WireFuzzer.le(12 + 32).putInt(Handshake.MAGIC).putShort((short) Handshake.VERSION)
                    .putShort((short) (f.rnd.nextBoolean() ? 1 : 0)).putInt(f.rnd.nextInt(3));
            byte[] nonce = new byte[32];
            f.rnd.nextBytes(nonce);
            p.put(nonce);
            return WireFuzzer.frame(FrameType.HELLO, 0, 0, p.array());
        }

        /** One unauthenticated connection: garbage or a broken hello; returns the frames it sent. */
        private int beforeAuth() throws IOException {
            byte[] out;
            int frames = 1;
            switch (f.rnd.nextInt(6)) {
                case 0 -> out = f.bytes(600);
                case 1 -> out = f.header(f.plausibleLength(), f.rnd.nextInt(300));
                case 2 -> out = f.header(f.hugeLength(), f.rnd.nextInt(32));
                case 3 -> out = f.mutate(hello());
                case 4 -> { // a valid hello truncated at each of its boundaries in turn
                    byte[] h = hello();
                    out = java.util.Arrays.copyOf(h, session++ % (h.length + 1));
                }
                default -> { // a hello, then an AUTH that proves nothing (or is mutated)
                    byte[] auth = new byte[32];
                    f.rnd.nextBytes(auth);
                    byte[] a = WireFuzzer.frame(FrameType.AUTH, 0, 0, auth);
                    byte[] m = f.rnd.nextBoolean() ? a : f.mutate(a);
                    byte[] h = hello();
                    out = new byte[h.length + m.length];
                    System.arraycopy(h, 0, out, 0, h.length);
                    System.arraycopy(m, 0, out, h.length, m.length);
                    frames = 2;
                }
            }
            try (SocketChannel ch = SocketChannel.open(address)) {
                try {
                    ch.write(ByteBuffer.wrap(out));
                    ch.shutdownOutput();
                } catch (IOException e) {
                    // the server hung up already: fine
                }
                if (!closedByPeer(ch)) {
                    failures.add("the server kept an unauthenticated connection open beyond " + HANG);
                }
            }
            return frames;
        }

        /** One authenticated session of valid, mutated and truncated requests; returns the frames it sent. */
        private int afterAuth() throws IOException, InterruptedException {
            int sent = 0;
            try (SocketChannel ch = SocketChannel.open(address)) {
                ConnectionDeadline.within(ch, HANG, "the server", () -> Handshake.client(ch, new FrameCodec("server"), key,
                        "server"));
                AtomicBoolean drained = new AtomicBoolean();
                Thread drain = new Thread(() -> drained.set(closedByPeer(ch)), "drain");
                drain.start();
                int n = 1 + f.rnd.nextInt(300);
                int s = session++;
                try {
                    // well-formed requests (bad fields, some bytes replaced under a right CRC), which the
                    // server answers; then maybe one broken frame, which ends the session, so last
                    for (int i = 0; i < n; i++) {
                        byte[] frame = request(i);
                        if (f.rnd.nextInt(8) == 0) {
                            frame = frame.clone();
                            if (frame.length > Frame.HEADER_SIZE) {
                                frame[Frame.HEADER_SIZE + f.rnd.nextInt(frame.length - Frame.HEADER_SIZE)] =
                                        (byte) f.rnd.nextInt(256);
                                WireFuzzer.fixCrc(frame);
                            }
                        }
                        ch.write(ByteBuffer.wrap(frame));
                        sent++;
                    }
                    switch (f.rnd.nextInt(4)) {
                        case 0 -> { // cut at each boundary in turn
                            byte[] frame = request(n);
                            ch.write(ByteBuffer.wrap(java.util.Arrays.copyOf(frame, s % (frame.length + 1))));
                            sent++;
                        }
                        case 1 -> {
                            ch.write(ByteBuffer.wrap(f.mutate(request(n))));
                            sent++;
                        }
                        case 2 -> {
                            ch.write(ByteBuffer.wrap(WireFuzzer.frame(FrameType.BYE, 0, n, new byte[0])));
                            sent++;
                        }
                        default -> {
                            // just the end of the stream
                        }
                    }
                    ch.shutdownOutput();
                } catch (IOException e) {
                    // the server ended the session on a broken frame: fine
                }
                drain.join();
                if (!drained.get()) {
                    failures.add("the server kept an authenticated connection open beyond " + HANG
                            + " after its peer stopped sending");
                }
            }
            return Math.max(sent, 1);
        }

        /** A request: valid in form, its fields often not. */
        private byte[] request(long id) {
            int k = f.rnd.nextInt(100);
            if (k < 50) {
                int p = f.rnd.nextInt(10) == 0 ? f.rnd.nextInt() : pid;
                long vaddr;
                int r = f.rnd.nextInt(10);
                PagemapIov iov = checker.lazy.get(f.rnd.nextInt(checker.lazy.size()));
                if (r < 7) {
                    vaddr = iov.vaddr() + (long) f.rnd.nextInt((int) iov.nrPages()) * PagemapIov.PAGE_SIZE;
                } else if (r < 8) {
                    vaddr = iov.vaddr() + 1 + f.rnd.nextInt(4095);
                } else {
                    vaddr = f.rnd.nextLong();
                }
                int q = f.rnd.nextInt(100);
                int nr = q < 90 ? 1 + f.rnd.nextInt(16) : q < 91 ? 1 + f.rnd.nextInt(1024) : q < 95 ? -f.rnd.nextInt(3)
                        : f.rnd.nextInt();
                byte[] payload = Messages.pageRange(new Messages.PageRange(p, vaddr, nr)).array();
                return WireFuzzer.frame(FrameType.GET_PAGES, f.rnd.nextBoolean() ? Frame.FLAG_FAULT : 0, id, payload);
            }
            if (k < 62) {
                String name = switch (f.rnd.nextInt(5)) {
                    case 0 -> "../../etc/passwd";
                    case 1 -> "pages-" + f.rnd.nextInt(4) + ".img";
                    case 2 -> new String(f.bytes(40), StandardCharsets.ISO_8859_1);
                    default -> checker.imageNames.get(f.rnd.nextInt(checker.imageNames.size()));
                };
                long offset = f.rnd.nextInt(4) == 0 ? f.rnd.nextLong() : f.rnd.nextInt(1 << 16);
                int length = f.rnd.nextInt(4) == 0 ? f.rnd.nextInt() : f.rnd.nextInt(1 << 16);
                byte[] n = name.getBytes(StandardCharsets.UTF_8);
                if (n.length == 0 || n.length > Messages.MAX_NAME) {
                    n = "core-1.img".getBytes(StandardCharsets.UTF_8);
                }
                byte[] payload = WireFuzzer.le(2 + n.length + 12).putShort((short) n.length).put(n).putLong(offset)
                        .putInt(length).array();
                return WireFuzzer.frame(FrameType.GET_IMAGE, 0, id, payload);
            }
            if (k < 68) {
                return WireFuzzer.frame(FrameType.LIST_IMAGES, 0, id, new byte[0]);
            }
            if (k < 76) {
                return WireFuzzer.frame(FrameType.PING, 0, id, new byte[0]);
            }
            if (k < 80) {
                return WireFuzzer.frame(FrameType.DONE, 0, id, f.rnd.nextBoolean() ? Messages.pid(pid).array() : f.bytes(9));
            }
            FrameType[] all = FrameType.values();
            FrameType t = all[f.rnd.nextInt(all.length)];
            if (t == FrameType.BYE) {
                t = FrameType.HELLO;
            }
            return WireFuzzer.frame(t, f.rnd.nextInt(4), id, f.bytes(512));
        }
    }

    /** Reads until the peer closes, within {@link #HANG}; returns whether it closed in time. */
    static boolean closedByPeer(SocketChannel ch) {
        ByteBuffer scratch = ByteBuffer.allocate(64 * 1024);
        ConnectionDeadline d = ConnectionDeadline.start(ch, HANG);
        try {
            while (ch.read(scratch.clear()) >= 0) {
                // dropped
            }
        } catch (IOException e) {
            // reset by the server: closed all the same
        }
        return d.finish();
    }

    /** The dump's lazy pages, and a client that fetches every one and compares it with pages-N.img. */
    static final class Checker {
        final List<PagemapIov> lazy = new ArrayList<>();
        final List<String> imageNames = new ArrayList<>();
        final long lazyPages;
        private final Path images;
        private final Pagemap pagemap;
        private final int pid;

        Checker(Path images, int pid) throws IOException {
            this.images = images;
            this.pid = pid;
            this.pagemap = ProtoConvert.pagemapFromProto(ImageDir.of(images).readPagemap(pid));
            for (PagemapIov iov : pagemap.iovs()) {
                if (iov.isLazy()) {
                    lazy.add(iov);
                }
            }
            lazyPages = pagemap.lazyPages();
            try (var s = Files.list(images)) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".img")).sorted().forEach(imageNames::add);
            }
        }

        /** Fetches every lazy page (256 at a time, faults and background alternately); returns the pages. */
        long fetchAll(InetSocketAddress server, AuthKey key) throws IOException {
            long pages = 0;
            FrameCodec codec = new FrameCodec("lazy server");
            ByteBuffer want = ByteBuffer.allocate(256 * PagemapIov.PAGE_SIZE);
            try (SocketChannel ch = SocketChannel.open(server);
                 PagesFile file = ImageDir.of(images).openPages(pagemap.pagesId())) {
                Handshake.Welcome w = ConnectionDeadline.within(ch, HANG, "the lazy server",
                        () -> Handshake.client(ch, codec, key, "lazy server"));
                assertEquals(pid, w.pid());
                long id = 0;
                for (PagemapIov iov : lazy) {
                    for (long first = 0; first < iov.nrPages(); first += 256) {
                        int count = (int) Math.min(256, iov.nrPages() - first);
                        long vaddr = iov.vaddr() + first * PagemapIov.PAGE_SIZE;
                        id++;
                        codec.write(ch, FrameType.GET_PAGES, id % 2 == 0 ? Frame.FLAG_FAULT : 0, id,
                                Messages.pageRange(new Messages.PageRange(pid, vaddr, count)));
                        Frame reply = ConnectionDeadline.within(ch, HANG, "the lazy server's reply",
                                () -> codec.read(ch, Frame.MAX_PAYLOAD));
                        assertEquals(FrameType.PAGES, reply.type(), "reply to 0x" + Long.toHexString(vaddr));
                        assertEquals(id, reply.id());
                        Messages.PageRange r = Messages.pageRange(reply.payload());
                        assertEquals(new Messages.PageRange(pid, vaddr, count), r);
                        ByteBuffer got = reply.payload().position(Messages.PAGES_HEADER);
                        want.clear().limit(count * PagemapIov.PAGE_SIZE);
                        file.read(iov.fileOffset(vaddr), want);
                        want.flip();
                        assertEquals(want, got, "the pages at 0x" + Long.toHexString(vaddr) + " differ from the dump's");
                        pages += count;
                    }
                }
                codec.write(ch, FrameType.BYE, 0, id + 1, (ByteBuffer) null);
            }
            assertEquals(lazyPages, pages);
            return pages;
        }
    }

    /**
     * The RSS once the JVM gave its C heap's free memory back, as the launcher's
     * -XX:TrimNativeHeapInterval has it do every few seconds (here at once, by jcmd, not after a wait).
     */
    static long trimmedRssKiB(long pid) throws IOException, InterruptedException {
        ChildGroup.Finished trim = ChildGroup.run(30, List.of("jcmd", Long.toString(pid), "System.trim_native_heap"));
        assertEquals(0, trim.exit(), "jcmd System.trim_native_heap: " + trim.output());
        return rssKiB(pid);
    }

    static long rssKiB(long pid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS for " + pid);
    }

}
