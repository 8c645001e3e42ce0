package io.lazymig.lazyserver;

import io.lazymig.protocol.AuthKey;
import io.lazymig.protocol.Errors;
import io.lazymig.protocol.Frame;
import io.lazymig.protocol.FrameCodec;
import io.lazymig.protocol.FrameType;
import io.lazymig.protocol.Handshake;
import io.lazymig.protocol.Messages;
import io.lazymig.protocol.ProtocolException;
import io.lazymig.protocol.Transport;
import io.lazymig.protocol.TransferScheduling;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import org.HdrHistogram.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection of a client: after the handshake a reader thread takes requests off the socket. It answers
 * fault requests itself, at once; the rest go into a bounded queue this thread answers in order,
 * so a fault never waits behind queued background chunks (at most behind the one being sent).
 *
 * <p>What a connection costs: before it authenticates, its thread and a few hundred bytes of frame
 * (the handshake's are at most 256 bytes); authenticated, a second thread (its reader, waiting to
 * be let in); let in, at most two page buffers of the server's pool ({@link PageBuffers#SIZE} bytes
 * each, one per thread that answers with pages or images), and at most {@value #MAX_QUEUED} queued
 * requests of at most {@value #MAX_REQUEST} bytes.
 */
final class ClientSession implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-server");
    /** Requests a client may have queued; more is a broken client. */
    static final int MAX_QUEUED = 4096;
    /** The largest request payload (a GET_IMAGE with the longest name is 269 bytes). */
    static final int MAX_REQUEST = 512;
    /** Fault requests whose times -v 4 logs (the first bursts of a migration). */
    static final int TIMELINE_ROWS = 96;
    private static final Frame STOP = new Frame(FrameType.BYE, 0, Long.MAX_VALUE, null);

    private final SocketChannel ch;
    /** What frames go over: the socket, or TLS over it ({@link Transport}); set by the handshake. */
    private ByteChannel conn;
    private final String peer;
    /** What this connection serves: set by {@link #welcome}, before the threads that read them start. */
    private PageStore store;
    private DestinationImages images;
    private final AuthKey key;
    private final FrameCodec in;
    private final FrameCodec out;
    private final LinkedBlockingQueue<Frame> queue = new LinkedBlockingQueue<>();
    private final PageBuffers buffers;
    /** Both threads write replies: one frame at a time. */
    private final Object sendLock = new Object();
    /** A PAGES reply's sub-header and parts, reused (guarded by sendLock). */
    private final ByteBuffer pagesHead = Messages.pageRangeBuffer();
    private final ByteBuffer[] pagesParts = new ByteBuffer[2];
    private volatile IOException readerFailure;
    private boolean done;
    /** The reader thread, started at authentication ({@link #startReader}) or by {@link #run}. */
    private Thread reader;
    /** Opened by {@link #run} (serving) or {@link #close} (not): the reader reads only once let in. */
    private final CountDownLatch admitted = new CountDownLatch(1);
    private volatile boolean serving;
    /** -v 4's timeline: when the WELCOME went, run() began, the reader started and was put on the fault path. */
    private long welcomedNanos;
    private volatile long runNanos;
    private long startedNanos;
    private long scheduledNanos;


    ClientSession(SocketChannel ch, String peer, AuthKey key, PageBuffers buffers) {
        this.buffers = buffers;
        this.ch = ch;
        this.peer = "client " + peer;
        this.key = key;
        this.in = new FrameCodec(this.peer);
        this.out = new FrameCodec(this.peer);
    }

    /**
     * The handshake up to the client's proof (TLS's, then lazymig's); returns whether this
     * connection is the fault channel of a client connected already (a daemon's second
     * connection, for the pages its threads wait on). Nothing is sent of the checkpoint yet.
     */
    boolean authenticate() throws IOException {
        conn = Transport.of(key).server(ch, peer);
        int caps = Handshake.authenticate(conn, out, key, peer);
        return (caps & Handshake.FAULT_CHANNEL) != 0;
    }

    /**
     * Starts the thread that reads the requests, on the fault path at once but reading nothing
     * until {@link #run}. Called once the client authenticated, which for migrate is before the
     * freeze: a thread started after the WELCOME took 2-36 ms to first run on the busy hosts of the
     * downtime (-v 4, make bench), and once 22 ms after the release, every first fault waiting for it.
     */
    void startReader() {
        Thread t = new Thread(this::readRequests, "reader " + peer);
        t.setDaemon(true);
        reader = t;
        t.start();
    }

    /** Lets the authenticated client in: the WELCOME, with what it is served from now on. */
    void welcome(PageStore store, DestinationImages images, boolean faultChannel) throws IOException {
        this.store = store;
        this.images = images;
        Handshake.welcome(conn, out, new Handshake.Welcome(store.pid(), store.lazyPages()));
        welcomedNanos = System.nanoTime();
        log.info("lazy-server: {} connected{}", peer, faultChannel ? " (a fault channel)" : "");
    }

    /** Tells a client let in that the server serves as many as it may, and why it is dropped. */
    void refuseFull(String why) {
        try {
            error(0, Errors.REFUSED, why);
        } catch (IOException e) {
            // it is dropped all the same
        }
    }

    /** Serves the requests after the handshake; returns whether the client said it has every page (DONE). */
    boolean run() throws IOException, InterruptedException {
        runNanos = System.nanoTime();
        if (reader == null) {
            startReader();
        }
        serving = true;
        admitted.countDown();
        // This thread answers the queued requests (images, then background chunks); the reader
        // answers faults. From the first background chunk on, this one yields the CPU to
        // everything else (TransferScheduling); the images before it are on restore's path.
        TransferScheduling.Background background = null;
        PageBuffers.Slot pages = new PageBuffers.Slot(buffers);
        try {
            while (true) {
                Frame f = queue.take();
                if (f == STOP) {
                    if (readerFailure != null && !(readerFailure instanceof EOFException)) {
                        throw readerFailure;
                    }
                    return done;
                }
                if (background == null && f.type() == FrameType.GET_PAGES) {
                    background = TransferScheduling.background(log, "lazy-server: " + peer);
                }
                answer(f, pages);
                if (background != null) {
                    background.check();
                }
            }
        } finally {
            pages.release();
        }
    }

    private void readRequests() {
        startedNanos = System.nanoTime();
        TransferScheduling.faultPath(log, "lazy-server: " + peer);
        scheduledNanos = System.nanoTime();
        try {
            admitted.await();
        } catch (InterruptedException e) {
            return;
        }
        if (!serving) {
            return; // dropped before it was let in: run() never came, nobody waits on the queue
        }
        PageBuffers.Slot faultPages = new PageBuffers.Slot(buffers);
        // this host's share of each fault's round trip, from its request read to its reply written:
        // with the client's reply time it says on which side a slow fault waited. This thread's alone.
        Histogram faultService = new Histogram(3_600_000_000_000L, 2);
        // -v 4: the first fault requests' times (System.nanoTime), to line up with the client's timeline
        long[][] timeline = log.isDebugEnabled() ? new long[TIMELINE_ROWS][] : null;
        int rows = 0;
        try {
            while (true) {
                long waiting = System.nanoTime();
                Frame f = in.read(conn, MAX_REQUEST);
                if (f.type() == FrameType.BYE) {
                    break;
                }
                if (f.type() == FrameType.GET_PAGES && f.hasFlag(Frame.FLAG_FAULT)) {
                    // A thread waits on this page: answer it here, ahead of every queued request,
                    // without a hand-off to the other thread (two context switches on the fault path).
                    long t0 = System.nanoTime();
                    answer(f, faultPages);
                    long t1 = System.nanoTime();
                    faultService.recordValue(Math.max(1, t1 - t0));
                    if (timeline != null && rows < TIMELINE_ROWS) {
                        timeline[rows++] = new long[] {f.id(), pagesAsked(f), waiting, t0, t1};
                        if (rows == TIMELINE_ROWS) {
                            logTimeline(timeline, rows);
                        }
                    }
                    continue;
                }
                if (queue.size() >= MAX_QUEUED) {
                    throw new ProtocolException(peer + " has more than " + MAX_QUEUED + " requests queued");
                }
                queue.add(f);
            }
        } catch (IOException e) {
            readerFailure = e;
        } finally {
            faultPages.release();
            queue.add(STOP);
            if (timeline != null && rows < TIMELINE_ROWS) {
                logTimeline(timeline, rows);
            }
            if (faultService.getTotalCount() > 0) {
                log.info(String.format(Locale.ROOT, "lazy-server: %s: %d faults answered, each from its request read to "
                        + "its reply written in p50 %.1f us, p99 %.1f us, max %.1f us", peer, faultService.getTotalCount(),
                        faultService.getValueAtPercentile(50) / 1e3, faultService.getValueAtPercentile(99) / 1e3,
                        faultService.getMaxValue() / 1e3));
            }
        }
    }

    /** The first fault requests' times in us from the first one's read, with that base absolute (the client's timeline's clock). */
    private void logTimeline(long[][] rows, int n) {
        if (n == 0) {
            return;
        }
        long base = rows[0][3];
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "lazy-server: %s: the first %d fault requests, in us "
                + "from base %d us (absolute; welcomed %d, run %d, reader started %d, on the fault path %d): id pages | "
                + "reading read answered", peer, n, base / 1000, (welcomedNanos - base) / 1000, (runNanos - base) / 1000,
                (startedNanos - base) / 1000, (scheduledNanos - base) / 1000));
        for (int i = 0; i < n; i++) {
            long[] r = rows[i];
            b.append(String.format(Locale.ROOT, "%n  %d %d | %d %d %d", r[0], r[1], (r[2] - base) / 1000, (r[3] - base) / 1000,
                    (r[4] - base) / 1000));
        }
        log.debug(b.toString());
    }

    /** The pages a GET_PAGES asks for, -1 for a malformed one (answered with an error). */
    private static int pagesAsked(Frame f) {
        try {
            return Messages.pageRange(f.payload()).nrPages();
        } catch (ProtocolException e) {
            return -1;
        }
    }

    private void answer(Frame f, PageBuffers.Slot buffer) throws IOException {
        switch (f.type()) {
            case GET_PAGES -> answerPages(f, buffer);
            case LIST_IMAGES -> send(FrameType.IMAGES, 0, f.id(), new ByteBuffer[] {Messages.imageList(images.images())});
            case GET_IMAGE -> answerImage(f, buffer);
            case DONE -> {
                if (f.payload().remaining() != 4) {
                    error(f.id(), Errors.BAD_REQUEST, "a DONE frame of " + f.payload().remaining() + " bytes");
                    return;
                }
                done = true;
                log.info("lazy-server: {} has every page of process {}", peer, f.payload().getInt(0));
            }
            case PING -> send(FrameType.PONG, 0, f.id(), new ByteBuffer[0]);
            default -> error(f.id(), Errors.BAD_REQUEST, "unexpected " + f.type() + " frame");
        }
    }

    private void answerPages(Frame f, PageBuffers.Slot slot) throws IOException {
        Messages.PageRange r;
        try {
            r = Messages.pageRange(f.payload());
        } catch (ProtocolException e) {
            error(f.id(), Errors.BAD_REQUEST, e.getMessage());
            return;
        }
        ByteBuffer pages = slot.get().clear();
        int n;
        try {
            n = store.read(r.pid(), r.vaddr(), r.nrPages(), pages);
        } catch (PageStore.Refused e) {
            error(f.id(), e.code, e.getMessage());
            return;
        }
        pages.flip();
        sendPages(f.flags(), f.id(), r.pid(), r.vaddr(), n, pages);
    }

    /** A PAGES reply with the sub-header and parts array reused under sendLock: nothing allocated per reply. */
    private void sendPages(int flags, long id, int pid, long vaddr, int n, ByteBuffer pages) throws IOException {
        synchronized (sendLock) {
            pagesParts[0] = Messages.pageRange(pagesHead, pid, vaddr, n);
            pagesParts[1] = pages;
            try {
                out.write(conn, FrameType.PAGES, flags, id, pagesParts);
            } finally {
                pagesParts[1] = null;
            }
        }
    }

    private void answerImage(Frame f, PageBuffers.Slot slot) throws IOException {
        Messages.ImageRequest r;
        try {
            r = Messages.imageRequest(f.payload());
        } catch (ProtocolException e) {
            error(f.id(), Errors.BAD_REQUEST, e.getMessage());
            return;
        }
        Path file = images.file(r.name());
        if (file == null) {
            error(f.id(), Errors.NO_SUCH_IMAGE, "no image " + r.name() + " here");
            return;
        }
        if (r.length() > PageBuffers.SIZE) {
            error(f.id(), Errors.BAD_REQUEST, "image range of " + r.length() + " bytes, beyond " + PageBuffers.SIZE);
            return;
        }
        try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = fc.size();
            int len = (int) Math.max(0, Math.min(r.length(), size - r.offset()));
            ByteBuffer data = slot.get().clear().limit(len);
            while (data.hasRemaining() && fc.read(data, r.offset() + data.position()) > 0) {
                // positioned reads until the range is in
            }
            data.flip();
            ByteBuffer head = Messages.le8(r.offset());
            send(FrameType.IMAGE, 0, f.id(), new ByteBuffer[] {head, data});
        }
    }

    private void error(long id, int code, String message) throws IOException {
        send(FrameType.ERROR, 0, id, new ByteBuffer[] {Errors.encode(code, message)});
    }

    private void send(FrameType type, int flags, long id, ByteBuffer[] parts) throws IOException {
        synchronized (sendLock) {
            out.write(conn, type, flags, id, parts);
        }
    }

    @Override
    public void close() throws IOException {
        admitted.countDown(); // a reader started but never let in ends
        ch.close();
    }
}
