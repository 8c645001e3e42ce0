package io.lazymig.lazyserver;

import io.lazymig.protocol.AuthKey;
import io.lazymig.protocol.ConnectionDeadline;
import io.lazymig.protocol.ConnectionLimits;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig lazy-pages --lazy-server}: serves one checkpoint's lazy pages, and the images a
 * destination restores from, to any number of clients at once (one checkpoint, many restores).
 * One thread pair per connection; a broken client only ends its own session. A daemon's second
 * connection, its fault channel (said so in its hello), is served the same way, concurrently and
 * apart from the first, but is not a client of its own: it counts neither as connected nor as done.
 *
 * <p>Hostile connections are bounded ({@link ConnectionLimits}): a connection must authenticate
 * within the handshake deadline or is dropped with a warning; at most so many authenticate at
 * once (one more is closed at accept) and at most so many sessions are served at once; page
 * buffers are lent only to authenticated sessions, from one pool ({@link PageBuffers}). A client
 * counts (for {@link #awaitAllClientsDone()}) once it is let in.
 */
public final class LazyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-server");
    /**
     * Connections the kernel holds for accept: under a flood of 200 at a time a queue of 16
     * overflowed, and ~10% of the connections were dropped by the kernel (no warning, the client
     * retrying) — a real client among them as much as a hostile one.
     */
    static final int BACKLOG = 512;

    private final PageStore store;
    private final DestinationImages images;
    private final AuthKey key;
    private final ServerSocketChannel listener;
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger completed = new AtomicInteger();
    private final Object changes = new Object();
    private final ConnectionLimits limits;
    private final Semaphore handshakes;
    private final Semaphore sessions;
    private final PageBuffers buffers = new PageBuffers();

    public LazyServer(PageStore store, DestinationImages images, AuthKey key, InetSocketAddress bind) throws IOException {
        this(store, images, key, bind, ConnectionLimits.DEFAULT);
    }

    public LazyServer(PageStore store, DestinationImages images, AuthKey key, InetSocketAddress bind,
                      ConnectionLimits limits) throws IOException {
        this.limits = limits;
        this.handshakes = new Semaphore(limits.handshakes());
        this.sessions = new Semaphore(limits.sessions());
        this.store = store;
        this.images = images;
        this.key = key;
        this.listener = ServerSocketChannel.open();
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        try {
            listener.bind(bind, BACKLOG);
        } catch (IOException e) {
            listener.close();
            throw new IOException("cannot listen on " + bind + ": " + e.getMessage(), e);
        }
    }

    public InetSocketAddress address() throws IOException {
        return (InetSocketAddress) listener.getLocalAddress();
    }

    /** Accepts clients until closed. */
    public void serve() throws IOException {
        log.info("lazy-server: serving process {} ({} lazy pages) on {}", store.pid(), store.lazyPages(), address());
        while (listener.isOpen()) {
            SocketChannel ch;
            try {
                ch = listener.accept();
            } catch (java.nio.channels.ClosedChannelException e) {
                return;
            }
            String peer;
            try {
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
                peer = String.valueOf(ch.getRemoteAddress());
            } catch (IOException e) {
                ch.close(); // gone already
                continue;
            }
            if (!handshakes.tryAcquire()) {
                log.warn("lazy-server: client {} dropped: {} connections are authenticating already (at most {})", peer,
                        limits.handshakes(), limits.handshakes());
                ch.close();
                continue;
            }
            Thread t = new Thread(null, () -> serveOne(ch, peer), "client " + peer, THREAD_STACK);
            t.setDaemon(true);
            t.start();
        }
    }

    /** A connection's stack: its frames are shallow, and an unauthenticated one costs no more than this reserve. */
    private static final long THREAD_STACK = 256 * 1024;

    /** One connection, on its own thread: the handshake under its deadline, then the session if there is room. */
    private void serveOne(SocketChannel ch, String peer) {
        boolean counted = false;
        boolean done = false;
        boolean admitted = false;
        boolean handshaking = true;
        try (ClientSession s = new ClientSession(ch, peer, store, images, key, buffers)) {
            boolean faultChannel = ConnectionDeadline.within(ch, limits.handshake(), "client " + peer + "'s handshake",
                    s::handshake);
            handshaking = false;
            handshakes.release();
            if (!sessions.tryAcquire()) {
                String why = "the lazy server serves " + limits.sessions() + " connections already, its limit";
                log.warn("lazy-server: client {} dropped: {}", peer, why);
                s.refuseFull(why);
                return;
            }
            admitted = true;
            if (!faultChannel) { // a client's fault channel: its client is counted already
                counted = true;
                count();
            }
            done = s.run();
        } catch (Exception e) {
            String m = String.valueOf(e.getMessage());
            log.warn("lazy-server: {}", m.contains(peer) ? m : "client " + peer + ": " + m);
        } finally {
            if (handshaking) {
                handshakes.release();
            }
            if (admitted) {
                sessions.release();
            }
            if (counted) {
                uncount(done);
            }
        }
    }

    private void count() {
        active.incrementAndGet();
        synchronized (changes) {
            changes.notifyAll();
        }
    }

    /** A client counted once it was let in ends. */
    private void uncount(boolean done) {
        if (done) {
            completed.incrementAndGet();
        }
        active.decrementAndGet();
        synchronized (changes) {
            changes.notifyAll();
        }
    }

    /**
     * Waits until at least one client has all its pages and no client is connected any more:
     * then the source process may be released (dump --lazy-pages).
     */
    public void awaitAllClientsDone() throws InterruptedException {
        synchronized (changes) {
            while (completed.get() == 0 || active.get() > 0) {
                changes.wait();
            }
        }
    }

    /** As {@link #awaitAllClientsDone()}, for at most {@code patience}; returns whether it happened. */
    public boolean awaitAllClientsDone(java.time.Duration patience) throws InterruptedException {
        long end = System.nanoTime() + patience.toNanos();
        synchronized (changes) {
            while (completed.get() == 0 || active.get() > 0) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changes.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    /** Page buffers made so far: at most two per session served at once. */
    int pageBuffersMade() {
        return buffers.made();
    }

    /** Connections in their handshake now. */
    int handshaking() {
        return limits.handshakes() - handshakes.availablePermits();
    }

    /** Clients connected (and let in) now. */
    public int activeClients() {
        return active.get();
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
