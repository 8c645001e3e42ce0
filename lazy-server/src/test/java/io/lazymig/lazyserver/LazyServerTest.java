package io.lazymig.lazyserver;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ImageDir;
import io.lazymig.images.MmInfo;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesWriter;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.ProcessState;
import io.lazymig.images.Registers;
import io.lazymig.images.ThreadState;
import io.lazymig.images.UserRegs;
import io.lazymig.images.Vma;
import io.lazymig.images.XsaveLayout;
import io.lazymig.protocol.Errors;
import io.lazymig.protocol.Frame;
import io.lazymig.protocol.FrameCodec;
import io.lazymig.protocol.FrameType;
import io.lazymig.protocol.Handshake;
import io.lazymig.protocol.Messages;
import io.lazymig.protocol.ProtocolException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The lazy server against raw protocol clients: pages, refusals as error replies, images only from the view. */
@Timeout(30)
class LazyServerTest {
    private static final long HEAP = 0x10000000L;
    private static final long ANON = 0x20000000L;
    private static final int PID = 4242;

    @TempDir
    Path dir;

    private LazyServer server;
    private DestinationImages images;
    private CheckpointPageStore store;

    @BeforeEach
    void start() throws Exception {
        Checkpoint cp = writeCheckpoint(dir);
        images = DestinationImages.build(cp, dir);
        store = new CheckpointPageStore(cp, new PagesFileData(dir, 1));
        server = new LazyServer(store, images, null, new InetSocketAddress("127.0.0.1", 0));
        Thread t = new Thread(() -> {
            try {
                server.serve();
            } catch (IOException ignored) {
                // closed
            }
        });
        t.setDaemon(true);
        t.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        store.close();
        images.close();
    }

    /** Two VMAs: a 4-page present-only one, then an 8-page lazy one; page p holds byte (p+1) everywhere. */
    static Checkpoint writeCheckpoint(Path dir) throws IOException {
        return writeCheckpoint(dir, Pagemap.builder(1).add(HEAP, 4, PagemapIov.PE_PRESENT)
                .add(ANON, 8, PagemapIov.PE_LAZY | PagemapIov.PE_PRESENT).build(), 12);
    }

    /** The same two VMAs with {@code pm}; the pages file holds {@code pages} pages, page p all bytes p+1. */
    static Checkpoint writeCheckpoint(Path dir, Pagemap pm, int pages) throws IOException {
        try (PagesWriter w = ImageDir.of(dir).createPages(1)) {
            for (int p = 0; p < pages; p++) {
                ByteBuffer page = ByteBuffer.allocate(4096);
                while (page.hasRemaining()) {
                    page.put((byte) (p + 1));
                }
                w.append(page.flip());
            }
        }
        ProcessState state = ProcessState.builder().pid(PID).comm("test").exePath("/bin/true")
                .mm(new MmInfo(HEAP, HEAP, HEAP, HEAP, HEAP, HEAP, HEAP, HEAP, HEAP, HEAP, HEAP, new long[] {0, 0})).build();
        Registers regs = new Registers(UserRegs.fromArray(new long[UserRegs.COUNT]), new byte[XsaveLayout.LEGACY_SIZE],
                XsaveLayout.LEGACY);
        int anon = Vma.MAP_PRIVATE | Vma.MAP_ANONYMOUS;
        List<Vma> vmas = List.of(
                new Vma(HEAP, HEAP + 4 * 4096, 3, anon, Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_PRIVATE | Vma.VMA_AREA_HEAP, 0, null, 0),
                new Vma(ANON, ANON + 8 * 4096, 3, anon, Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_PRIVATE, 0, null, 0));
        Checkpoint cp = Checkpoint.of(new ProcessImage(state, List.of(ThreadState.plain(PID, regs, "test")), vmas, pm, List.of()), List.of());
        cp.write(dir);
        return cp;
    }

    private SocketChannel client(FrameCodec codec) throws IOException {
        SocketChannel ch = SocketChannel.open(server.address());
        Handshake.Welcome w = Handshake.client(ch, codec, null, "server");
        assertEquals(PID, w.pid());
        assertEquals(8, w.lazyPages());
        return ch;
    }

    @Test
    void servesLazyPagesAndRefusesOthersWithoutHangingUp() throws Exception {
        FrameCodec codec = new FrameCodec("server");
        try (SocketChannel ch = client(codec)) {
            codec.write(ch, FrameType.GET_PAGES, Frame.FLAG_FAULT, 1, Messages.pageRange(new Messages.PageRange(PID, ANON + 4096, 100)));
            Frame f = codec.read(ch, Frame.MAX_PAYLOAD);
            assertEquals(FrameType.PAGES, f.type());
            Messages.PageRange r = Messages.pageRange(f.payload());
            assertEquals(7, r.nrPages(), "clamped to the end of the pagemap entry");
            assertEquals(16 + 7 * 4096, f.payload().remaining());
            assertEquals(6, f.payload().get(16), "page 5 of the file holds byte 6");

            for (Messages.PageRange bad : List.of(new Messages.PageRange(PID, HEAP, 1),
                    new Messages.PageRange(PID, 0x30000000L, 1), new Messages.PageRange(PID + 1, ANON, 1))) {
                codec.write(ch, FrameType.GET_PAGES, 0, 2, Messages.pageRange(bad));
                Frame e = codec.read(ch, 4096);
                assertEquals(FrameType.ERROR, e.type(), bad.toString());
                assertTrue(Errors.decode(e.payload()).code() > 0);
            }
            codec.write(ch, FrameType.PING, 0, 3, (ByteBuffer) null);
            assertEquals(FrameType.PONG, codec.read(ch, 16).type(), "the connection survives the refusals");
        }
    }

    @Test
    void offersOnlyTheDestinationView() throws Exception {
        FrameCodec codec = new FrameCodec("server");
        try (SocketChannel ch = client(codec)) {
            codec.write(ch, FrameType.LIST_IMAGES, 0, 1, (ByteBuffer) null);
            List<Messages.ImageInfo> list = Messages.imageList(codec.read(ch, 1 << 20).payload());
            Messages.ImageInfo pages = list.stream().filter(i -> i.name().equals("pages-1.img")).findFirst().orElseThrow();
            assertEquals(4 * 4096, pages.size(), "only the eager pages travel with the images");
            for (String name : List.of("../../etc/passwd", "/etc/passwd", "pages-1.img/../x")) {
                codec.write(ch, FrameType.GET_IMAGE, 0, 2, Messages.imageRequest(name, 0, 100));
                Frame e = codec.read(ch, 4096);
                assertEquals(FrameType.ERROR, e.type());
                assertThat(Errors.decode(e.payload()).message(), containsString("no image"));
            }
        }
    }

    @Test
    void aBrokenClientDoesNotDisturbAnother() throws Exception {
        FrameCodec codec = new FrameCodec("server");
        try (SocketChannel good = client(codec); SocketChannel bad = SocketChannel.open(server.address())) {
            // A whole frame header claiming 2 GiB of payload: refused once read, the connection closed.
            ByteBuffer header = ByteBuffer.allocate(Frame.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(0, Integer.MAX_VALUE).put(4, (byte) 0xff).put(5, (byte) 0xff);
            while (header.hasRemaining()) {
                bad.write(header);
            }
            awaitClosedByServer(bad);
            // Only now, with the bad peer's bytes read and its connection gone, the good client asks.
            codec.write(good, FrameType.GET_PAGES, 0, 1, Messages.pageRange(new Messages.PageRange(PID, ANON, 8)));
            assertEquals(FrameType.PAGES, codec.read(good, Frame.MAX_PAYLOAD).type());
        }
    }

    /** Reads (and drops: an error frame, if any) until the server closes {@code ch}; fails after 20 s. */
    private static void awaitClosedByServer(SocketChannel ch) throws IOException {
        java.net.Socket socket = ch.socket();
        socket.setSoTimeout(20_000);
        byte[] sink = new byte[4096];
        try {
            while (socket.getInputStream().read(sink) >= 0) {
                // what the server said before closing
            }
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("the server did not close a connection that sent a bad frame header within 20 s", e);
        }
    }

    /** Bounded: one handshake at a time here, one session; a silent peer is dropped at the deadline, one more at accept. */
    @Test
    void limitsHandshakesAndSessions() throws Exception {
        io.lazymig.protocol.ConnectionLimits limits = new io.lazymig.protocol.ConnectionLimits(java.time.Duration.ofSeconds(2),
                1, 1);
        try (LazyServer small = new LazyServer(store, images, null, new InetSocketAddress("127.0.0.1", 0), limits)) {
            Thread t = new Thread(() -> {
                try {
                    small.serve();
                } catch (IOException ignored) {
                    // closed
                }
            });
            t.setDaemon(true);
            t.start();
            try (SocketChannel silent = SocketChannel.open(small.address())) {
                ByteBuffer b = ByteBuffer.allocate(16);
                assertEquals(-1, silent.read(b), "the silent peer is dropped at the deadline");
            }
            while (small.handshaking() > 0) {
                Thread.sleep(5); // its thread gives the slot back after hanging up
            }
            FrameCodec codec = new FrameCodec("server");
            try (SocketChannel first = SocketChannel.open(small.address())) {
                Handshake.client(first, codec, null, "server");
                codec.write(first, FrameType.PING, 0, 1, (ByteBuffer) null);
                assertEquals(FrameType.PONG, codec.read(first, 16).type());
                try (SocketChannel second = SocketChannel.open(small.address())) {
                    FrameCodec c2 = new FrameCodec("server");
                    // authenticated, then refused in place of the WELCOME
                    ProtocolException refusal = assertThrows(ProtocolException.class,
                            () -> Handshake.client(second, c2, null, "server"));
                    assertThat(refusal.getMessage(), containsString("serves 1 connections already"));
                }
                assertEquals(1, small.activeClients());
            }
        }
    }

    /** A server listening before its checkpoint: clients authenticate at once and are welcomed only by offer(). */
    @Test
    void authenticatesBeforeItServes() throws Exception {
        try (LazyServer early = new LazyServer(null, new InetSocketAddress("127.0.0.1", 0))) {
            serveInBackground(early);
            assertFalse(early.awaitAuthenticated(java.time.Duration.ofMillis(50)), "nobody connected yet");
            try (SocketChannel ch = SocketChannel.open(early.address())) {
                FrameCodec codec = new FrameCodec("server");
                java.util.concurrent.FutureTask<Handshake.Welcome> hello = new java.util.concurrent.FutureTask<>(
                        () -> Handshake.client(ch, codec, null, "server"));
                new Thread(hello).start();
                assertTrue(early.awaitAuthenticated(java.time.Duration.ofSeconds(10)), "the client authenticated");
                assertFalse(early.awaitAuthenticatedFaultChannel(java.time.Duration.ofMillis(20)), "no fault channel came");
                Thread.sleep(100);
                assertFalse(hello.isDone(), "no WELCOME before there is a checkpoint");
                assertEquals(0, early.activeClients());
                early.offer(store, images);
                Handshake.Welcome w = hello.get(10, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(PID, w.pid());
                assertEquals(8, w.lazyPages());
                codec.write(ch, FrameType.PING, 0, 1, (ByteBuffer) null);
                assertEquals(FrameType.PONG, codec.read(ch, 16).type());
                assertEquals(1, early.activeClients());
            }
        }
    }

    /** Closed before it had a checkpoint, the server drops the clients that wait for their WELCOME. */
    @Test
    void closedBeforeItServesDropsTheWaiting() throws Exception {
        LazyServer early = new LazyServer(null, new InetSocketAddress("127.0.0.1", 0));
        serveInBackground(early);
        try (SocketChannel ch = SocketChannel.open(early.address())) {
            FrameCodec codec = new FrameCodec("server");
            java.util.concurrent.FutureTask<Handshake.Welcome> hello = new java.util.concurrent.FutureTask<>(
                    () -> Handshake.client(ch, codec, null, "server"));
            new Thread(hello).start();
            assertTrue(early.awaitAuthenticated(java.time.Duration.ofSeconds(10)));
            early.close();
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> hello.get(10, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof IOException, "an EOF, not a welcome: " + e.getCause());
            // its reader, started at authentication (on the fault path before the WELCOME), ends unused
            long end = System.nanoTime() + 10_000_000_000L;
            while (readerThreads() > 0 && System.nanoTime() < end) {
                Thread.sleep(10);
            }
            assertEquals(0, readerThreads(), "no reader thread left behind by a session never let in");
        }
    }

    /** Live reader threads of sessions (named "reader client ..."). */
    private static long readerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().startsWith("reader client "))
                .count();
    }

    private static void serveInBackground(LazyServer s) {
        Thread t = new Thread(() -> {
            try {
                s.serve();
            } catch (IOException ignored) {
                // closed
            }
        });
        t.setDaemon(true);
        t.start();
    }
}
