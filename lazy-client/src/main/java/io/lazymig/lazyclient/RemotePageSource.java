package io.lazymig.lazyclient;

import io.lazymig.jni.Buffers;
import io.lazymig.protocol.AuthKey;
import io.lazymig.protocol.Transport;
import io.lazymig.protocol.TransferScheduling;
import io.lazymig.protocol.ConnectionDeadline;
import io.lazymig.protocol.ConnectionLimits;
import io.lazymig.protocol.Errors;
import io.lazymig.protocol.Frame;
import io.lazymig.protocol.FrameCodec;
import io.lazymig.protocol.FrameType;
import io.lazymig.protocol.Handshake;
import io.lazymig.protocol.Messages;
import io.lazymig.protocol.ProtocolException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lazy pages from the lazy server on the source host. Requests go out at once (faults flagged so
 * the server answers them first); a receiving thread reads each reply's pages into one of a few
 * page-aligned direct buffers and checks the CRC32C. A fault's pages it hands to the daemon at once
 * (the daemon copies them in from there); background chunks go to a copying thread, so the next
 * chunk is read from the socket while the last one is copied in (measured: reading and copying
 * one after the other held the background stream near 1 GB/s).
 *
 * <p>Faults have a connection of their own (QEMU's post-copy preempt channel, for the same
 * reason): on the first one the replies to a fault queued behind every background chunk in flight
 * (32 MiB by default), in the server's socket buffer, on the wire and in this end's. The second
 * connection is authenticated as the first, carries only fault requests and their replies, and
 * has its own receiving thread and one buffer; without it (or while it reconnects) faults go on
 * the first. It is opened after the first, not waited for: until it is up, faults go on the
 * first and the background is held back.
 * A dropped connection is re-established with backoff and every request in flight asked again
 * (requests are idempotent); the faulting threads simply wait meanwhile.
 */
public final class RemotePageSource implements PageSource {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-pages");
    private static final long KEEPALIVE_MILLIS = 5_000;
    /** Receive buffers: one being read, the rest queued for (or being) copied in. */
    private static final int RECEIVE_BUFFERS = 4;
    /** A server that does not complete the handshake in this time is dropped (and tried again, as a lost one). */
    static final Duration HANDSHAKE_DEADLINE = ConnectionLimits.DEFAULT.handshake();
    /**
     * The deadline of the first handshakes with {@code connect(true)}: their WELCOME comes only
     * once B has frozen and dumped the process, which a large tree can take longer than the
     * handshake's own 10 s to do; bounded still, so a B that dies silently is not waited for forever.
     */
    static final Duration WELCOME_AFTER_FREEZE_DEADLINE = Duration.ofMinutes(2);
    /** The largest image the daemon takes from a server (the lazy pages never travel as images). */
    static final long MAX_IMAGE_BYTES = 1L << 32;
    private static final Pattern IMAGE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\.img");

    private final InetSocketAddress server;
    private final AuthKey key;
    private final Transport transport;
    private final Duration reconnectDeadline;
    private final Map<Long, Fetch> inFlight = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Object sendLock = new Object();
    private final FrameCodec sendCodec;
    private final FrameCodec receiveCodec;
    /** A request's payload, reused: guarded by sendLock (request) and faultSendLock (faultRequest). */
    private final ByteBuffer request = Messages.pageRangeBuffer();
    private final ByteBuffer faultRequest = Messages.pageRangeBuffer();
    private final ByteBuffer subHeader = ByteBuffer.allocateDirect(Messages.PAGES_HEADER).order(ByteOrder.LITTLE_ENDIAN);
    /** Set by start() (guarded by faultSendLock for the fault connection's late start). */
    private LazyPagesDaemon daemon;
    private BlockingQueue<ByteBuffer> freeBuffers;
    private BlockingQueue<Delivery> toCopy;
    private volatile ByteChannel channel;
    private volatile boolean closing;
    /** The background copying thread, woken by close (it waits on its queue, not on a channel). */
    private volatile Thread copier;
    /** The deadline of the next handshakes: longer while the first ones wait for B's freeze (connect(true)). */
    private volatile Duration handshakeDeadline = HANDSHAKE_DEADLINE;
    private Handshake.Welcome welcome;
    private Thread receiver;
    private final boolean faultConnection;
    private final Object faultSendLock = new Object();
    private final FrameCodec faultSendCodec;
    private final FrameCodec faultReceiveCodec;
    private final ByteBuffer faultSubHeader = ByteBuffer.allocateDirect(Messages.PAGES_HEADER).order(ByteOrder.LITTLE_ENDIAN);
    private ByteBuffer faultPages;
    /** The size of each receive buffer allocated (0: none yet). */
    private int bufferBytes;
    private volatile ByteChannel faultChannel;
    /** The fault connection is being opened (connect() started it): background requests wait. */
    private volatile boolean faultsPending;
    /** The thread opening it, once started (by the thread that connects). */
    private Thread faultOpener;
    /** Background requests made while the fault connection was being opened (guarded by faultSendLock). */
    private final List<Map.Entry<Long, Fetch>> heldBackground = new ArrayList<>();

    public RemotePageSource(InetSocketAddress server, AuthKey key, Duration reconnectDeadline) {
        this(server, key, reconnectDeadline, true);
    }

    /** With {@code faultConnection} false, faults share the one connection with the background. */
    public RemotePageSource(InetSocketAddress server, AuthKey key, Duration reconnectDeadline, boolean faultConnection) {
        this.server = server;
        this.key = key;
        this.transport = Transport.of(key);
        this.reconnectDeadline = reconnectDeadline;
        this.faultConnection = faultConnection;
        this.sendCodec = new FrameCodec("lazy server " + server);
        this.receiveCodec = new FrameCodec("lazy server " + server);
        this.faultSendCodec = new FrameCodec("lazy server " + server + " (faults)");
        this.faultReceiveCodec = new FrameCodec("lazy server " + server + " (faults)");
    }

    /**
     * Connects and authenticates; returns what the server said of its checkpoint. The fault
     * connection is opened after it, on a thread of its own, and not waited for: a TLS handshake
     * costs ~15-60 ms of CPU here (in memory, warm, on a loaded machine); one after the other both
     * lay between the page server's start and the daemon listening for restore (96-162 ms for the
     * second), and at once they took ~75-140 ms each, sharing the CPUs. Until it is up (or found
     * impossible), faults go on the first connection and the background waits ({@link #send}), so
     * no fault queues behind background data meanwhile.
     */
    public Handshake.Welcome connect() throws IOException {
        return connect(false);
    }

    /**
     * As {@link #connect()}; with {@code faultsAtOnce} the fault connection opens beside the first
     * rather than after it: for a server that lets clients authenticate before it has a checkpoint
     * (migrate, before the freeze), where both handshakes then cost no downtime.
     */
    public Handshake.Welcome connect(boolean faultsAtOnce) throws IOException {
        long t0 = System.nanoTime();
        SocketChannel ch;
        try {
            ch = SocketChannel.open(server);
        } catch (IOException e) {
            throw new IOException("cannot reach the lazy server at " + server + ": " + e.getMessage(), e);
        }
        long tTcp = System.nanoTime();
        boolean faults = faultConnection && faultOpener == null;
        if (faultsAtOnce) {
            handshakeDeadline = WELCOME_AFTER_FREEZE_DEADLINE;
        }
        if (faults && faultsAtOnce) {
            openFaultsAfter();
        }
        Secured c;
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
            c = handshake(ch, sendCodec, "lazy server " + server, Handshake.CAPABILITIES);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        welcome = c.welcome();
        channel = c.channel();
        handshakeDeadline = HANDSHAKE_DEADLINE; // B serves now: a later handshake (fault connection, reconnection) waits for nothing
        if (faults && !faultsAtOnce) {
            openFaultsAfter();
        }
        log.debug("lazy-pages: connected in {} us (TCP connect {} us){}", (System.nanoTime() - t0) / 1000,
                (tTcp - t0) / 1000, faults ? "; the fault connection opening" : "");
        return welcome;
    }

    /** Starts opening the fault connection on a thread of its own; {@link #faultConnectionDone} ends it. */
    private void openFaultsAfter() {
        synchronized (faultSendLock) {
            faultsPending = true;
        }
        Thread t = new Thread(() -> {
            // At the default slice: restore and the first connection's use of it come first.
            long t0 = System.nanoTime();
            ByteChannel f = null;
            try {
                f = openFaultConnection();
                log.debug("lazy-pages: fault connection in {} us", (System.nanoTime() - t0) / 1000);
            } catch (IOException e) {
                if (!closing) {
                    log.warn("lazy-pages: no fault connection ({}); faults go with the background", e.getMessage());
                }
            }
            faultConnectionDone(f);
        }, "lazy-server fault connect");
        t.setDaemon(true);
        faultOpener = t;
        t.start();
    }

    /**
     * The fault connection's opening ended ({@code f} null: it could not be opened): faults go on it
     * from now on, its receiving thread starts if the daemon runs, and the background held back
     * meanwhile is asked for.
     */
    private void faultConnectionDone(ByteChannel f) {
        List<Map.Entry<Long, Fetch>> release;
        synchronized (faultSendLock) {
            if (closing) {
                closeQuietly(f);
                f = null;
            }
            faultChannel = f;
            faultsPending = false;
            release = new ArrayList<>(heldBackground);
            heldBackground.clear();
            if (f != null && daemon != null) {
                startFaultReceiver();
            }
        }
        for (Map.Entry<Long, Fetch> e : release) {
            send(e.getKey(), e.getValue());
        }
    }

    /**
     * Allocates the receive buffers for fetches of at most {@code maxFetchBytes} now, e.g. while
     * the images are still on their way, instead of in {@link #start} on the way to restore's
     * handoff. Before {@link #start} only, on the thread that calls it.
     */
    public void allocateBuffers(int maxFetchBytes) {
        if (freeBuffers != null && bufferBytes == maxFetchBytes) {
            return;
        }
        bufferBytes = maxFetchBytes;
        freeBuffers = new ArrayBlockingQueue<>(RECEIVE_BUFFERS);
        for (int i = 0; i < RECEIVE_BUFFERS; i++) {
            freeBuffers.add(Buffers.allocatePageAligned(maxFetchBytes));
        }
        faultPages = faultConnection ? Buffers.allocatePageAligned(maxFetchBytes) : null;
    }

    /**
     * Fetches the images the destination restores from into {@code dir}, skipping those already
     * there, so the operator copies nothing by hand. Returns the names fetched.
     */
    public List<String> fetchImages(Path dir) throws IOException {
        Files.createDirectories(dir);
        sendCodec.write(channel, FrameType.LIST_IMAGES, 0, ids.incrementAndGet(), (ByteBuffer) null);
        Frame list = expect(receiveCodec.read(channel, 1 << 20), FrameType.IMAGES);
        List<String> fetched = new ArrayList<>();
        for (Messages.ImageInfo info : Messages.imageList(list.payload())) {
            if (!IMAGE_NAME.matcher(info.name()).matches()) {
                throw new ProtocolException("lazy server offered an image named '" + Errors.printable(info.name())
                        + "': refused");
            }
            if (info.size() < 0 || info.size() > MAX_IMAGE_BYTES) {
                throw new ProtocolException("lazy server offered " + info.name() + " of " + Long.toUnsignedString(info.size())
                        + " bytes, beyond the " + MAX_IMAGE_BYTES + "-byte bound: refused");
            }
            Path target = dir.resolve(info.name());
            if (Files.exists(target)) {
                continue;
            }
            Path part = dir.resolve(info.name() + ".part");
            boolean whole = false;
            try (var out = Files.newByteChannel(part, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                long offset = 0;
                while (offset < info.size()) {
                    int len = (int) Math.min(info.size() - offset, Frame.MAX_PAYLOAD - 64);
                    sendCodec.write(channel, FrameType.GET_IMAGE, 0, ids.incrementAndGet(),
                            Messages.imageRequest(info.name(), offset, len));
                    Frame img = expect(receiveCodec.read(channel, Frame.MAX_PAYLOAD), FrameType.IMAGE);
                    ByteBuffer data = img.payload();
                    if (data.remaining() < 8 || data.getLong() != offset || data.remaining() != len) {
                        throw new ProtocolException("lazy server sent the wrong part of " + info.name());
                    }
                    try {
                        while (data.hasRemaining()) {
                            out.write(data);
                        }
                    } catch (IOException e) { // a full disk: the channel's own message names no file
                        throw new IOException("cannot write " + target + ": " + e.getMessage(), e);
                    }
                    offset += len;
                }
                whole = true;
            } finally {
                if (!whole) {
                    Files.deleteIfExists(part); // no half image left behind (on a full disk, its room back)
                }
            }
            Files.move(part, target);
            fetched.add(info.name());
        }
        return fetched;
    }

    /** A background chunk's pages, waiting for the copying thread. */
    private record Delivery(Fetch fetch, ByteBuffer pages) {
    }

    /** Starts serving the daemon's fetches, on the fault connection too once it is up. */
    void start(LazyPagesDaemon d) {
        allocateBuffers(d.maxFetchBytes());
        toCopy = new ArrayBlockingQueue<>(RECEIVE_BUFFERS);
        synchronized (faultSendLock) {
            this.daemon = d;
            if (faultChannel != null) {
                startFaultReceiver();
            }
        }
        receiver = new Thread(this::receive, "lazy-server receiver");
        receiver.setDaemon(true);
        receiver.start();
        Thread c = new Thread(this::copyBackground, "lazy-server copier");
        c.setDaemon(true);
        copier = c;
        c.start();
        Thread keepalive = new Thread(this::keepalive, "lazy-server keepalive");
        keepalive.setDaemon(true);
        keepalive.start();
    }

    /** The fault connection's receiving thread, once the daemon runs and the connection is up. Under faultSendLock. */
    private void startFaultReceiver() {
        Thread faults = new Thread(this::receiveFaults, "lazy-server fault receiver");
        faults.setDaemon(true);
        faults.start();
    }

    /** A PING every few seconds: a connection that died silently shows up as a failed send or read. */
    private void keepalive() {
        while (!closing) {
            try {
                Thread.sleep(KEEPALIVE_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (sendLock) {
                ByteChannel ch = channel;
                if (ch != null && !closing) {
                    try {
                        sendCodec.write(ch, FrameType.PING, 0, ids.incrementAndGet(), (ByteBuffer) null);
                    } catch (IOException e) {
                        log.debug("lazy-pages: keepalive failed ({})", e.getMessage());
                    }
                }
            }
            synchronized (faultSendLock) {
                ByteChannel ch = faultChannel;
                if (ch != null && !closing) {
                    try {
                        faultSendCodec.write(ch, FrameType.PING, 0, ids.incrementAndGet(), (ByteBuffer) null);
                    } catch (IOException e) {
                        log.debug("lazy-pages: keepalive of the fault connection failed ({})", e.getMessage());
                    }
                }
            }
        }
    }

    @Override
    public boolean async() {
        return true;
    }

    @Override
    public void fetch(Fetch f) throws IOException {
        long id = ids.incrementAndGet();
        f.id = id;
        inFlight.put(id, f);
        send(id, f);
    }

    private void send(long id, Fetch f) {
        if (f.kind == Stats.Kind.BACKGROUND && faultsPending) {
            synchronized (faultSendLock) {
                if (faultsPending) {
                    heldBackground.add(Map.entry(id, f)); // asked for once faults have their connection
                    return;
                }
            }
        }
        if (f.kind != Stats.Kind.BACKGROUND) {
            synchronized (faultSendLock) {
                ByteChannel ch = faultChannel;
                if (ch != null) {
                    try {
                        ByteBuffer req = Messages.pageRange(faultRequest, f.process.imagePid, f.source, f.pages(4096));
                        faultSendCodec.write(ch, FrameType.GET_PAGES, Frame.FLAG_FAULT, id, req);
                        f.sentNanos = System.nanoTime();
                    } catch (IOException e) {
                        log.debug("lazy-pages: send on the fault connection failed ({}); it reconnects", e.getMessage());
                    }
                    return;
                }
            }
        }
        synchronized (sendLock) {
            ByteChannel ch = channel;
            if (ch == null) {
                return; // reconnecting: asked again once the connection is back
            }
            try {
                ByteBuffer req = Messages.pageRange(request, f.process.imagePid, f.source, f.pages(4096));
                sendCodec.write(ch, FrameType.GET_PAGES, f.kind == Stats.Kind.BACKGROUND ? 0 : Frame.FLAG_FAULT, id, req);
            } catch (IOException e) {
                log.debug("lazy-pages: send failed ({}); the receiver reconnects", e.getMessage());
            }
        }
    }

    @Override
    public void processComplete(int pid) throws IOException {
        synchronized (sendLock) {
            if (channel != null) {
                sendCodec.write(channel, FrameType.DONE, 0, ids.incrementAndGet(), Messages.pid(pid));
            }
        }
    }

    /**
     * The first connection's receiving thread. Carrying faults (before the fault connection is up,
     * or without one), it is on their path; carrying only background data (faults have their own
     * connection), it yields the CPU to everything else ({@link TransferScheduling}).
     */
    private void receive() {
        TransferScheduling.Background bg = null;
        TransferScheduling.faultPath(log, "lazy-pages: receiver");
        while (!closing) {
            if (bg == null && faultChannel != null) {
                bg = TransferScheduling.background(log, "lazy-pages: background receiver");
            }
            try {
                receiveOne();
                if (bg != null) {
                    bg.check();
                }
            } catch (ProtocolException e) {
                if (closing) {
                    return;
                }
                daemon.fail(e);
                return;
            } catch (IOException e) {
                if (closing) {
                    return;
                }
                log.warn("lazy-pages: connection to the lazy server lost ({}); reconnecting", e.getMessage());
                if (!reconnect()) {
                    daemon.fail(new IOException("the lazy server at " + server + " did not come back within "
                            + reconnectDeadline.toSeconds() + " s"));
                    return;
                }
            }
        }
    }

    /** The copying thread: background chunks into the process, their buffers back to the receiver. */
    private void copyBackground() {
        while (!closing) {
            Delivery d;
            try {
                d = toCopy.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                daemon.deliver(d.fetch(), d.pages());
            } catch (IOException e) {
                if (!closing) {
                    daemon.fail(e);
                }
                return;
            } finally {
                freeBuffers.add(d.pages());
            }
        }
    }

    private void receiveOne() throws IOException {
        ByteBuffer pages;
        try {
            pages = freeBuffers.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for a receive buffer", e);
        }
        boolean handedOn = false;
        try {
            handedOn = receiveInto(pages);
        } finally {
            if (!handedOn) {
                freeBuffers.add(pages);
            }
        }
    }

    /** Reads one frame; returns whether {@code pages} went to the copying thread (which frees it). */
    private boolean receiveInto(ByteBuffer pages) throws IOException {
        Fetch f = readPages(channel, receiveCodec, subHeader, pages);
        if (f == null) {
            return false;
        }
        if (f.kind == Stats.Kind.BACKGROUND) {
            toCopy.add(new Delivery(f, pages)); // never full: it holds at most the buffers not free
            return true;
        }
        daemon.deliver(f, pages);
        return false;
    }

    /**
     * Reads one frame from {@code ch}; returns the fetch whose pages are now in {@code pages}, or
     * null (a frame without pages, or pages asked again after a reconnect and already answered).
     * Reads only what never changes of a fetch (its source, length, pid): the daemon may be
     * moving its addresses meanwhile.
     */
    private Fetch readPages(ByteChannel ch, FrameCodec codec, ByteBuffer sub, ByteBuffer pages) throws IOException {
        FrameCodec.Header h = codec.readHeader(ch);
        long headerNanos = System.nanoTime();
        // Removed from inFlight only once its pages are read whole: a connection cut in the middle
        // of the frame leaves it there, to be asked again after the reconnect.
        Fetch f = inFlight.get(h.id());
        if (h.type() == FrameType.ERROR) {
            ByteBuffer p = ByteBuffer.allocate(h.length()).order(ByteOrder.LITTLE_ENDIAN);
            codec.readPayload(ch, h, p);
            p.flip();
            Errors.Error e = Errors.decode(p);
            throw new ProtocolException("lazy server refused a request: " + e.message());
        }
        if (h.type() != FrameType.PAGES) {
            codec.skipPayload(ch, h);
            return null;
        }
        int dataLen = h.length() - Messages.PAGES_HEADER;
        if (dataLen < 0 || dataLen > pages.capacity()) {
            throw new ProtocolException("lazy server sent " + h.length() + " bytes of pages, more than asked");
        }
        sub.clear();
        pages.clear().limit(dataLen);
        codec.readPayload(ch, h, sub, pages);
        sub.flip();
        pages.flip();
        if (f == null || !inFlight.remove(h.id(), f)) {
            return null;
        }
        Messages.PageRange r = Messages.pageRange(sub);
        if (r.vaddr() != f.source || (long) r.nrPages() * 4096 != f.length || r.pid() != f.process.imagePid) {
            throw new ProtocolException("lazy server answered 0x" + Long.toHexString(r.vaddr()) + " x" + r.nrPages()
                    + " for a request of 0x" + Long.toHexString(f.source) + " x" + f.pages(4096));
        }
        f.headerNanos = headerNanos;
        return f;
    }

    /**
     * The fault connection's receiving thread: each reply copied in at once from its one buffer.
     * When the connection is lost the faults in flight are asked again on the first one, and so are
     * new faults until it is back; if it does not come back, faults stay there.
     */
    private void receiveFaults() {
        TransferScheduling.faultPath(log, "lazy-pages: fault receiver");
        while (!closing) {
            Fetch f;
            ByteChannel ch = faultChannel;
            try {
                f = readPages(ch, faultReceiveCodec, faultSubHeader, faultPages);
            } catch (ProtocolException e) {
                if (!closing) {
                    daemon.fail(e);
                }
                return;
            } catch (IOException e) {
                if (closing) {
                    return;
                }
                log.warn("lazy-pages: fault connection to the lazy server lost ({}); faults go with the background "
                        + "meanwhile", e.getMessage());
                if (!reconnectFaults()) {
                    if (closing) {
                        return;
                    }
                    log.warn("lazy-pages: the fault connection did not come back within {} s; faults stay with the "
                            + "background", reconnectDeadline.toSeconds());
                    return;
                }
                log.info("lazy-pages: fault connection back");
                continue;
            }
            if (f != null) {
                try {
                    long read = System.nanoTime();
                    daemon.deliver(f, faultPages);
                    if (f.kind == Stats.Kind.FAULT && f.sentNanos != 0 && f.lockedNanos != 0) {
                        long now = System.nanoTime();
                        daemon.stats().faultStages(f.waitSince == 0 ? 0 : now - f.waitSince, f.sentNanos - f.startNanos,
                                read - f.sentNanos, f.lockedNanos - read, now - f.lockedNanos);
                    }
                    daemon.timeline().add(f.id, f, f.headerNanos, read);
                } catch (IOException | RuntimeException e) {
                    daemon.fail(e instanceof IOException io ? io : new IOException(e.getMessage(), e));
                    return;
                }
            }
        }
    }

    private ByteChannel openFaultConnection() throws IOException {
        SocketChannel ch;
        try {
            ch = SocketChannel.open(server);
        } catch (IOException e) {
            throw new IOException("cannot reach the lazy server at " + server + " for faults: " + e.getMessage(), e);
        }
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
            return handshake(ch, faultSendCodec, "lazy server " + server + " (faults)", Handshake.FAULT_CHANNEL).channel();
        } catch (IOException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Closes the lost fault connection, asks again on the first one for every fault in flight (the
     * replies lost with it among them; one answered twice is copied once: the second answer finds
     * no request under its id, or the page there, EEXIST), and reopens it with backoff.
     */
    private boolean reconnectFaults() {
        synchronized (faultSendLock) {
            closeQuietly(faultChannel);
            faultChannel = null; // from here every fault request goes on the first connection
        }
        for (Map.Entry<Long, Fetch> e : new ArrayList<>(inFlight.entrySet())) {
            if (e.getValue().kind != Stats.Kind.BACKGROUND) {
                send(e.getKey(), e.getValue());
            }
        }
        long end = System.nanoTime() + reconnectDeadline.toNanos();
        long backoff = 100;
        while (!closing && System.nanoTime() < end) {
            try {
                Thread.sleep(backoff);
                ByteChannel ch = openFaultConnection();
                synchronized (faultSendLock) {
                    if (closing) {
                        closeQuietly(ch);
                        return false;
                    }
                    faultChannel = ch;
                }
                return true;
            } catch (IOException e) {
                backoff = Math.min(backoff * 2, 2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    /** Reconnects with backoff and asks again for everything in flight, faults first. */
    private boolean reconnect() {
        synchronized (sendLock) {
            closeQuietly(channel);
            channel = null;
        }
        long end = System.nanoTime() + reconnectDeadline.toNanos();
        long backoff = 100;
        while (!closing && System.nanoTime() < end) {
            try {
                Thread.sleep(backoff);
                SocketChannel ch = SocketChannel.open(server);
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ByteChannel secured;
                try {
                    secured = handshake(ch, sendCodec, "lazy server " + server, Handshake.CAPABILITIES).channel();
                } catch (IOException e) {
                    ch.close();
                    throw e;
                }
                synchronized (sendLock) {
                    channel = secured;
                }
                List<Map.Entry<Long, Fetch>> again = new ArrayList<>(inFlight.entrySet());
                again.sort(Comparator.comparing((Map.Entry<Long, Fetch> e) -> e.getValue().kind == Stats.Kind.BACKGROUND)
                        .thenComparing(Map.Entry::getKey));
                for (Map.Entry<Long, Fetch> e : again) {
                    send(e.getKey(), e.getValue());
                }
                log.warn("lazy-pages: reconnected to the lazy server; asked again for {} requests", again.size());
                return true;
            } catch (IOException e) {
                backoff = Math.min(backoff * 2, 2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    /** A connection after its handshake: what frames go over (TLS or the socket) and what the server said. */
    private record Secured(ByteChannel channel, Handshake.Welcome welcome) {
    }

    /**
     * The client's handshake (TLS's first, unless --no-encryption, then lazymig's), dropped when
     * the server does not complete it within {@link #handshakeDeadline}.
     */
    private Secured handshake(SocketChannel ch, FrameCodec codec, String name, int capabilities) throws IOException {
        return ConnectionDeadline.within(ch, handshakeDeadline, name + "'s handshake", () -> {
            long t0 = System.nanoTime();
            ByteChannel c = transport.client(ch, name);
            long tTransport = System.nanoTime();
            Secured s = new Secured(c, Handshake.client(c, codec, key, name, capabilities));
            log.debug("lazy-pages: {}: {} in {} us, lazymig's handshake in {} us", name, transport.encrypted() ? "TLS" : "plain",
                    (tTransport - t0) / 1000, (System.nanoTime() - tTransport) / 1000);
            return s;
        });
    }

    private Frame expect(Frame f, FrameType want) throws ProtocolException {
        if (f.type() == FrameType.ERROR) {
            throw new ProtocolException("lazy server refused: " + Errors.decode(f.payload()).message());
        }
        if (f.type() != want) {
            throw new ProtocolException("lazy server sent " + f.type() + " where " + want + " belongs");
        }
        return f;
    }

    @Override
    public void close() throws IOException {
        closing = true;
        Thread c = copier;
        if (c != null) {
            c.interrupt(); // else it waits on its empty queue for good, holding the daemon and its checkpoint
        }
        synchronized (sendLock) {
            if (channel != null) {
                try {
                    sendCodec.write(channel, FrameType.BYE, 0, ids.incrementAndGet(), (ByteBuffer) null);
                } catch (IOException ignored) {
                    // the server is gone already
                }
            }
            closeQuietly(channel);
        }
        synchronized (faultSendLock) {
            if (faultChannel != null) {
                try {
                    faultSendCodec.write(faultChannel, FrameType.BYE, 0, ids.incrementAndGet(), (ByteBuffer) null);
                } catch (IOException ignored) {
                    // the server is gone already
                }
            }
            closeQuietly(faultChannel);
        }
    }

    private static void closeQuietly(ByteChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }
}
