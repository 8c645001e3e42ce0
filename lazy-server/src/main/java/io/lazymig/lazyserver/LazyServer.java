package io.lazymig.lazyserver;

import io.lazymig.protocol.AuthKey;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig lazy-pages --lazy-server}: serves one checkpoint's lazy pages, and the images a
 * destination restores from, to any number of clients at once (one checkpoint, many restores).
 * One thread pair per connection; a broken client only ends its own session. A daemon's second
 * connection, its fault channel (said so in its hello), is served the same way, concurrently and
 * apart from the first, but is not a client of its own: it counts neither as connected nor as done.
 */
public final class LazyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-server");

    private final PageStore store;
    private final DestinationImages images;
    private final AuthKey key;
    private final ServerSocketChannel listener;
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger completed = new AtomicInteger();
    private final Object changes = new Object();

    public LazyServer(PageStore store, DestinationImages images, AuthKey key, InetSocketAddress bind) throws IOException {
        this.store = store;
        this.images = images;
        this.key = key;
        this.listener = ServerSocketChannel.open();
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        try {
            listener.bind(bind, 16);
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
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
            String peer = String.valueOf(ch.getRemoteAddress());
            active.incrementAndGet();
            Thread t = new Thread(() -> {
                boolean counted = true;
                boolean done = false;
                try (ClientSession s = new ClientSession(ch, peer, store, images, key)) {
                    if (s.handshake()) {
                        counted = false; // a client's fault channel: its client is counted already
                        uncount(false);
                    }
                    done = s.run();
                } catch (Exception e) {
                    log.warn("lazy-server: client {}: {}", peer, e.getMessage());
                } finally {
                    if (counted) {
                        uncount(done);
                    }
                }
            }, "client " + peer);
            t.setDaemon(true);
            t.start();
        }
    }

    /** A connection counted at accept ends (or turns out to be a fault channel). */
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

    /** Clients connected now. */
    public int activeClients() {
        return active.get();
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
