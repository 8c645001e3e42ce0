package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.ImageDir;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesFile;
import io.lazymig.images.ProtoConvert;
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
                    images.toString(), "--auth-key", keyFile.toString());
            assertEquals(0, dump.exit(), dump.toString());
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Checker checker = new Checker(images, pid);
        try (RestoreLauncher.Running server = RestoreLauncher.start(dir.resolve("server.log"), "lazy-pages",
                "--lazy-server", "-D", images.toString(), "--port", Integer.toString(port), "--address", "127.0.0.1",
                "--auth-key", keyFile.toString(), "-v", "2")) {
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
