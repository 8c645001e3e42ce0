package io.lazymig.lazyserver;

import io.lazymig.protocol.AuthKey;
import io.lazymig.protocol.Errors;
import io.lazymig.protocol.Frame;
import io.lazymig.protocol.FrameCodec;
import io.lazymig.protocol.FrameType;
import io.lazymig.protocol.Handshake;
import io.lazymig.protocol.Messages;
import io.lazymig.protocol.ProtocolException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client: after the handshake a reader thread takes requests off the socket into a bounded
 * priority queue and this thread answers them — fault requests before background ones, oldest
 * first within each — so a fault never waits behind a queue of background chunks.
 */
final class ClientSession implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-server");
    /** Requests a client may have queued; more is a broken client. */
    static final int MAX_QUEUED = 4096;
    private static final Frame STOP = new Frame(FrameType.BYE, 0, Long.MAX_VALUE, null);

    private final SocketChannel ch;
    private final String peer;
    private final PageStore store;
    private final DestinationImages images;
    private final AuthKey key;
    private final FrameCodec in;
    private final FrameCodec out;
    private final AtomicLong order = new AtomicLong();
    private final PriorityBlockingQueue<Queued> queue = new PriorityBlockingQueue<>();
    private final ByteBuffer pages = ByteBuffer.allocateDirect(Frame.MAX_PAYLOAD - Messages.PAGES_HEADER);
    private volatile IOException readerFailure;
    private boolean done;

    private record Queued(Frame frame, boolean fault, long seq) implements Comparable<Queued> {
        @Override
        public int compareTo(Queued o) {
            if (fault != o.fault) {
                return fault ? -1 : 1;
            }
            return Long.compare(seq, o.seq);
        }
    }

    ClientSession(SocketChannel ch, String peer, PageStore store, DestinationImages images, AuthKey key) {
        this.ch = ch;
        this.peer = "client " + peer;
        this.store = store;
        this.images = images;
        this.key = key;
        this.in = new FrameCodec(this.peer);
        this.out = new FrameCodec(this.peer);
    }

    /** Runs the session; returns whether the client said it has every page (DONE). */
    boolean run() throws IOException, InterruptedException {
        Handshake.server(ch, out, key, new Handshake.Welcome(store.pid(), store.lazyPages()), peer);
        log.info("lazy-server: {} connected", peer);
        Thread reader = new Thread(this::readRequests, "reader " + peer);
        reader.setDaemon(true);
        reader.start();
        while (true) {
            Queued q = queue.take();
            if (q.frame() == STOP) {
                if (readerFailure != null && !(readerFailure instanceof EOFException)) {
                    throw readerFailure;
                }
                return done;
            }
            answer(q.frame());
        }
    }

    private void readRequests() {
        try {
            while (true) {
                Frame f = in.read(ch, 1024);
                if (f.type() == FrameType.BYE) {
                    break;
                }
                if (queue.size() >= MAX_QUEUED) {
                    throw new ProtocolException(peer + " has more than " + MAX_QUEUED + " requests queued");
                }
                queue.add(new Queued(f, f.type() == FrameType.GET_PAGES && f.hasFlag(Frame.FLAG_FAULT),
                        order.incrementAndGet()));
            }
        } catch (IOException e) {
            readerFailure = e;
        } finally {
            queue.add(new Queued(STOP, false, Long.MAX_VALUE));
        }
    }

    private void answer(Frame f) throws IOException {
        switch (f.type()) {
            case GET_PAGES -> answerPages(f);
            case LIST_IMAGES -> out.write(ch, FrameType.IMAGES, 0, f.id(), Messages.imageList(images.images()));
            case GET_IMAGE -> answerImage(f);
            case DONE -> {
                done = true;
                log.info("lazy-server: {} has every page of process {}", peer, f.payload().getInt(0));
            }
            case PING -> out.write(ch, FrameType.PONG, 0, f.id(), (ByteBuffer) null);
            default -> error(f.id(), Errors.BAD_REQUEST, "unexpected " + f.type() + " frame");
        }
    }

    private void answerPages(Frame f) throws IOException {
        Messages.PageRange r;
        try {
            r = Messages.pageRange(f.payload());
        } catch (ProtocolException e) {
            error(f.id(), Errors.BAD_REQUEST, e.getMessage());
            return;
        }
        pages.clear();
        int n;
        try {
            n = store.read(r.pid(), r.vaddr(), r.nrPages(), pages);
        } catch (PageStore.Refused e) {
            error(f.id(), e.code, e.getMessage());
            return;
        }
        pages.flip();
        ByteBuffer head = Messages.pageRange(new Messages.PageRange(r.pid(), r.vaddr(), n));
        out.write(ch, FrameType.PAGES, f.flags(), f.id(), new ByteBuffer[] {head, pages});
    }

    private void answerImage(Frame f) throws IOException {
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
        try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = fc.size();
            int len = (int) Math.max(0, Math.min(r.length(), size - r.offset()));
            ByteBuffer data = ByteBuffer.allocate(len);
            while (data.hasRemaining() && fc.read(data, r.offset() + data.position()) > 0) {
                // positioned reads until the range is in
            }
            data.flip();
            ByteBuffer head = Messages.le8(r.offset());
            out.write(ch, FrameType.IMAGE, 0, f.id(), new ByteBuffer[] {head, data});
        }
    }

    private void error(long id, int code, String message) throws IOException {
        out.write(ch, FrameType.ERROR, 0, id, Errors.encode(code, message));
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
