package io.lazymig.migrate;

import io.lazymig.images.Checkpoint;
import io.lazymig.lazyserver.CheckpointPageStore;
import io.lazymig.lazyserver.DestinationImages;
import io.lazymig.lazyserver.LazyServer;
import io.lazymig.lazyserver.ProcessPageData;
import io.lazymig.protocol.AuthKey;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The page server of a frozen process and its tree (dump --lazy-pages, and migrate): the
 * destination's images (small ones, the eager pages) built from the checkpoint just written, and
 * the lazy pages read straight from each process, which stays frozen under the dump's tracer meanwhile. Serves on a
 * thread of its own until closed.
 */
public final class FrozenSource implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    private final LazyServer server;
    /** Set by {@link #offer}, on the thread that made this source; closed with it. */
    private DestinationImages images;
    private CheckpointPageStore store;
    private int pid;

    private FrozenSource(LazyServer server) {
        this.server = server;
    }

    /** Builds the destination images from {@code dir} and starts serving on {@code bind}. */
    public static FrozenSource start(Checkpoint cp, Path dir, AuthKey key, InetSocketAddress bind) throws IOException {
        FrozenSource s = listen(key, bind);
        try {
            s.offer(cp, dir);
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * Listens on {@code bind} with nothing to serve yet (migrate, before the freeze): the
     * destination's daemon connects and authenticates meanwhile, and is let in by {@link #offer}.
     */
    public static FrozenSource listen(AuthKey key, InetSocketAddress bind) throws IOException {
        LazyServer server = new LazyServer(key, bind);
        Thread t = new Thread(() -> {
            try {
                server.serve();
            } catch (IOException e) {
                log.error("dump: lazy server stopped: {}", e.getMessage());
            }
        }, "lazy-server");
        t.setDaemon(true);
        t.start();
        return new FrozenSource(server);
    }

    /** Builds the destination images of the checkpoint just written into {@code dir} and serves them and its lazy pages. */
    public void offer(Checkpoint cp, Path dir) throws IOException {
        long t0 = System.nanoTime();
        pid = cp.root().pid();
        images = DestinationImages.build(cp, dir);
        long t1 = System.nanoTime();
        store = new CheckpointPageStore(cp, p -> new ProcessPageData(p.pid())); // every process of the tree, frozen
        long t2 = System.nanoTime();
        server.offer(store, images);
        log.debug("dump: page server: images built in {} us, page store in {} us, offered in {} us", (t1 - t0) / 1000,
                (t2 - t1) / 1000, (System.nanoTime() - t2) / 1000);
    }

    /** Waits until the destination's daemon has authenticated, for at most {@code patience}; returns whether it did. */
    public boolean awaitAuthenticated(Duration patience) throws InterruptedException {
        return server.awaitAuthenticated(patience);
    }

    /** As {@link #awaitAuthenticated}, for the daemon's fault connection. */
    public boolean awaitAuthenticatedFaultChannel(Duration patience) throws InterruptedException {
        return server.awaitAuthenticatedFaultChannel(patience);
    }

    public InetSocketAddress address() throws IOException {
        return server.address();
    }

    /** The images a destination restores from (the lazy pages left out). */
    public DestinationImages images() {
        return images;
    }

    /** Waits until a client has every page and none is connected any more. */
    public void awaitAllClientsDone() throws InterruptedException {
        server.awaitAllClientsDone();
        log.info("dump: every client has all the pages of process {}", pid);
    }

    /** As {@link #awaitAllClientsDone()}, for at most {@code patience}; returns whether it happened. */
    public boolean awaitAllClientsDone(Duration patience) throws InterruptedException {
        boolean done = server.awaitAllClientsDone(patience);
        if (done) {
            log.info("dump: every client has all the pages of process {}", pid);
        }
        return done;
    }

    /** Idempotent: migrate closes it while the process is frozen, and again on its way out. */
    @Override
    public void close() throws IOException {
        try {
            server.close();
            if (store != null) {
                store.close();
                store = null;
            }
        } finally {
            if (images != null) {
                images.close();
                images = null;
            }
        }
    }
}
