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

    private final DestinationImages images;
    private final CheckpointPageStore store;
    private final LazyServer server;
    private final int pid;

    private FrozenSource(DestinationImages images, CheckpointPageStore store, LazyServer server, int pid) {
        this.images = images;
        this.store = store;
        this.server = server;
        this.pid = pid;
    }

    /** Builds the destination images from {@code dir} and starts serving on {@code bind}. */
    public static FrozenSource start(Checkpoint cp, Path dir, AuthKey key, InetSocketAddress bind) throws IOException {
        int pid = cp.root().pid();
        DestinationImages images = DestinationImages.build(cp, dir);
        CheckpointPageStore store = null;
        try {
            store = new CheckpointPageStore(cp, p -> new ProcessPageData(p.pid())); // every process of the tree, frozen
            LazyServer server = new LazyServer(store, images, key, bind);
            FrozenSource s = new FrozenSource(images, store, server, pid);
            Thread t = new Thread(() -> {
                try {
                    server.serve();
                } catch (IOException e) {
                    log.error("dump: lazy server stopped: {}", e.getMessage());
                }
            }, "lazy-server");
            t.setDaemon(true);
            t.start();
            return s;
        } catch (IOException | RuntimeException e) {
            if (store != null) {
                store.close();
            }
            images.close();
            throw e;
        }
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

    @Override
    public void close() throws IOException {
        try {
            server.close();
            store.close();
        } finally {
            images.close();
        }
    }
}
