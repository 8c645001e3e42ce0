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
 *
 * <p>A server may listen before it has anything to serve (migrate, before the freeze: {@link
 * #LazyServer(AuthKey, InetSocketAddress)}): clients then authenticate at once, TLS and lazymig's
 * proof, and wait for the WELCOME until {@link #offer} gives the checkpoint, so that after the
 * freeze no handshake is left to do. Closed before that, it drops them.
 */
public final class LazyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-server");
    /**
     * Connections the kernel holds for accept: under a flood of 200 at a time a queue of 16
     * overflowed, and ~10% of the connections were dropped by the kernel (no warning, the client
     * retrying) — a real client among them as much as a hostile one.
     */
    static final int BACKLOG = 512;

    /** What is served, once there is a checkpoint (guarded by {@code changes}). */
    private Served served;
    private boolean closed;
    private final AtomicInteger authenticated = new AtomicInteger();
    private final AtomicInteger authenticatedFaultChannels = new AtomicInteger();
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
        this(key, bind, limits);
        offer(store, images);
    }

    /** A server with nothing to serve yet: clients authenticate and wait for {@link #offer}. */
    public LazyServer(AuthKey key, InetSocketAddress bind) throws IOException {
        this(key, bind, ConnectionLimits.DEFAULT);
    }

    public LazyServer(AuthKey key, InetSocketAddress bind, ConnectionLimits limits) throws IOException {
        this.limits = limits;
        this.handshakes = new Semaphore(limits.handshakes());
        this.sessions = new Semaphore(limits.sessions());
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

    private record Served(PageStore store, DestinationImages images) {
    }

    /** What to serve from now on: the clients waiting for it are let in. Once only. */
    public void offer(PageStore store, DestinationImages images) throws IOException {
        synchronized (changes) {
            if (served != null) {
                throw new IllegalStateException("the lazy server serves a checkpoint already");
            }
            served = new Served(store, images);
            changes.notifyAll();
        }
        log.info("lazy-server: serving process {} ({} lazy pages) on {}", store.pid(), store.lazyPages(), address());
    }

    /** What is served, once offered; null when the server closed first. */
    private Served awaitServed() throws InterruptedException {
        synchronized (changes) {
            while (served == null && !closed) {
                changes.wait();
            }
            return served;
        }
    }

    /**
     * Waits until a client (not a fault channel) has authenticated, for at most {@code patience};
     * returns whether one did. Migrate freezes only then: a daemon that cannot reach or prove
     * itself to this server fails the migration with the process untouched.
     */
    public boolean awaitAuthenticated(java.time.Duration patience) throws InterruptedException {
        return awaitAuthenticated(authenticated, patience);
    }

    /** As {@link #awaitAuthenticated}, for a fault channel. */
    public boolean awaitAuthenticatedFaultChannel(java.time.Duration patience) throws InterruptedException {
        return awaitAuthenticated(authenticatedFaultChannels, patience);
    }

    private boolean awaitAuthenticated(AtomicInteger count, java.time.Duration patience) throws InterruptedException {
        long end = System.nanoTime() + patience.toNanos();
        synchronized (changes) {
            while (count.get() == 0) {
                long left = end - System.nanoTime();
                if (left <= 0 || closed) {
                    return false;
                }
                changes.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    /** Accepts clients until closed. */
    public void serve() throws IOException {
        log.debug("lazy-server: listening on {}", address());
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
        try (ClientSession s = new ClientSession(ch, peer, key, buffers)) {
            boolean faultChannel = ConnectionDeadline.within(ch, limits.handshake(), "client " + peer + "'s handshake",
                    s::authenticate);
            handshaking = false;
            handshakes.release();
            (faultChannel ? authenticatedFaultChannels : authenticated).incrementAndGet();
            s.startReader(); // on the fault path before the WELCOME: see startReader
            synchronized (changes) {
                changes.notifyAll();
            }
            Served what = awaitServed();
            if (what == null) {
                log.debug("lazy-server: client {} dropped: the server closed before it had a checkpoint", peer);
                return;
            }
            if (!sessions.tryAcquire()) {
                String why = "the lazy server serves " + limits.sessions() + " connections already, its limit";
                log.warn("lazy-server: client {} dropped: {}", peer, why);
                s.refuseFull(why);
                return;
            }
            admitted = true;
            s.welcome(what.store(), what.images(), faultChannel);
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
        synchronized (changes) {
            closed = true;
            changes.notifyAll();
        }
        listener.close();
    }
}
