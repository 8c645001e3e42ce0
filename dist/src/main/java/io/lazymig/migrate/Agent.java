package io.lazymig.migrate;

import io.lazymig.protocol.AuthKey;
import io.lazymig.protocol.ConnectionLimits;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig agent}: the destination's long-running service. A warm JVM that accepts
 * authenticated migrations from {@code lazymig migrate} and, for each, restores the process in
 * this JVM (the agent's PID and mount namespaces: the host's under systemd) with its lazy-pages
 * daemon on a thread of this JVM too, so nothing starts after the freeze; a guard process started
 * ahead of need takes a share of the uffd before the process runs, so the process outlives the
 * agent (taken over, or killed at the deadline, never left on zero pages). One migration at a
 * time; another one is refused before its source is frozen.
 *
 * <p>A root service that runs what it is sent, so: it listens where its options say; a connection
 * is read nothing but the handshake until it proved it holds the key, and must do that (and ask
 * for its migration) within the deadline of {@link #LIMITS}; at most so many connections
 * authenticate at once and so many are served at once (beyond that, closed with a warning); the
 * images of a migration are bounded ({@link Options#maxImageBytes()}); every migration taken or
 * refused after authentication is logged on {@value #AUDIT_LOG} with the peer's address and key.
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.agent");
    /** The logger of every migration's peer and outcome, shown at the default verbosity. */
    public static final String AUDIT_LOG = "lazymig.audit";
    /** 10 s to authenticate and ask; 8 connections authenticating at once; 4 served at once (one migrates). */
    static final ConnectionLimits LIMITS = new ConnectionLimits(Duration.ofSeconds(10), 8, 4);
    /** The default bound on one migration's images (the lazy pages never travel as images). */
    public static final long DEFAULT_MAX_IMAGE_BYTES = 4L << 30;

    /** The agent's settings. */
    public record Options(InetSocketAddress bind, AuthKey key, Path workDir, Path stub, Duration lazyDeadline,
                          String mainClass, int faultAroundBytes, int chunkBytes, int chunksInFlight,
                          int idleTimeoutSeconds, long maxImageBytes, io.lazymig.restore.IpMap ipMap) {
        public Options {
            ipMap = ipMap == null ? io.lazymig.restore.IpMap.NONE : ipMap;
        }
    }

    private final Options options;
    private final ServerSocketChannel listener;
    private final AtomicLong sequence = new AtomicLong();
    private final Semaphore handshakes = new Semaphore(LIMITS.handshakes());
    private final Semaphore sessions = new Semaphore(LIMITS.sessions());
    private StandbyGuard standby;
    private boolean busy;

    public Agent(Options options) throws IOException {
        this.options = options;
        Files.createDirectories(options.workDir());
        this.listener = ServerSocketChannel.open();
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        try {
            listener.bind(options.bind(), 128); // a queue of 16 overflowed under a flood: connections dropped without a word
        } catch (IOException e) {
            listener.close();
            throw new IOException("cannot listen on " + options.bind() + ": " + e.getMessage(), e);
        }
    }

    Options options() {
        return options;
    }

    ConnectionLimits limits() {
        return LIMITS;
    }

    /** A connection's handshake is over (it holds a slot from accept until then). */
    void handshakeDone() {
        handshakes.release();
    }

    /** Whether an authenticated connection may be served; {@link #leaveSession()} when it ends. */
    boolean enterSession() {
        return sessions.tryAcquire();
    }

    void leaveSession() {
        sessions.release();
    }

    public InetSocketAddress address() throws IOException {
        return (InetSocketAddress) listener.getLocalAddress();
    }

    /** Warms the migration's code up and starts the first standby guard; then the agent is ready. */
    public void prepare() throws IOException {
        Warmup.run(options.workDir(), options.stub(), "agent");
        try {
            io.lazymig.protocol.TlsWarmup.finish(); // warm before it says ready, never beside a migration
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            standby = newGuard();
        }
        collectBetweenMigrations(); // the warm-up's garbage, before the first migration
    }

    /** Accepts migrations until closed, each on a thread of its own. */
    public void serve() throws IOException {
        while (listener.isOpen()) {
            SocketChannel ch;
            try {
                ch = listener.accept();
            } catch (ClosedChannelException e) {
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
                log.warn("agent: {} dropped: {} connections are authenticating already (at most {})", peer,
                        LIMITS.handshakes(), LIMITS.handshakes());
                ch.close();
                continue;
            }
            AgentSession s = new AgentSession(this, ch, peer);
            Thread t = new Thread(s, "migration " + peer);
            t.setDaemon(true);
            t.start();
        }
    }

    /** A name for the next migration: its directory under WORKDIR. */
    String nextId(int pid) {
        return String.format("%tY%<tm%<td-%<tH%<tM%<tS-%d-%d", System.currentTimeMillis(), pid, sequence.incrementAndGet());
    }

    /** Claims the agent and its standby guard for one migration; null (with the reason logged) when it cannot take one. */
    synchronized StandbyGuard begin(StringBuilder why) {
        if (busy) {
            why.append("the agent is busy with another migration");
            return null;
        }
        if (standby == null || !standby.alive()) {
            try {
                standby = newGuard();
            } catch (IOException e) {
                why.append("no guard process: ").append(e.getMessage());
                return null;
            }
        }
        busy = true;
        StandbyGuard g = standby;
        standby = null;
        return g;
    }

    /** The migration is over (or failed): the next one gets a fresh guard. */
    void end(StandbyGuard unused) {
        StandbyGuard next = unused;
        if (next == null || !next.alive()) {
            try {
                next = newGuard();
            } catch (IOException e) {
                log.error("agent: cannot start a standby guard: {}", e.getMessage());
                next = null;
            }
        }
        collectBetweenMigrations(); // still busy: no migration begins during the pause
        synchronized (this) {
            standby = next;
            busy = false;
        }
    }

    /**
     * A full collection while no migration waits on this JVM. What a migration leaves in the old
     * generation (its checkpoint, its buffers, promoted by young collections while in use) otherwise
     * fills it over a few migrations, and the full collection that follows (20-30 ms with the serial
     * collector) falls inside whichever migration comes next, often in its downtime.
     */
    private static void collectBetweenMigrations() {
        long t0 = System.nanoTime();
        System.gc();
        log.debug("agent: heap collected between migrations in {} us", (System.nanoTime() - t0) / 1000);
    }

    private StandbyGuard newGuard() throws IOException {
        Path guardLogs = options.workDir().resolve("guards");
        Files.createDirectories(guardLogs);
        return StandbyGuard.start(options.mainClass(), options.lazyDeadline(),
                guardLogs.resolve("guard-" + System.currentTimeMillis() + ".log"));
    }

    @Override
    public void close() throws IOException {
        listener.close();
        synchronized (this) {
            if (standby != null) {
                standby.close();
            }
        }
    }
}
