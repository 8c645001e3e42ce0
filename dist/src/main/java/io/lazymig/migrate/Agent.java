package io.lazymig.migrate;

import io.lazymig.protocol.AuthKey;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.agent");

    /** The agent's settings. */
    public record Options(InetSocketAddress bind, AuthKey key, Path workDir, Path stub, Duration lazyDeadline,
                          String mainClass, int faultAroundBytes, int chunkBytes, int chunksInFlight,
                          int idleTimeoutSeconds, io.lazymig.restore.IpMap ipMap) {
        public Options {
            ipMap = ipMap == null ? io.lazymig.restore.IpMap.NONE : ipMap;
        }
    }

    private final Options options;
    private final ServerSocketChannel listener;
    private final AtomicLong sequence = new AtomicLong();
    private StandbyGuard standby;
    private boolean busy;

    public Agent(Options options) throws IOException {
        this.options = options;
        Files.createDirectories(options.workDir());
        this.listener = ServerSocketChannel.open();
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        try {
            listener.bind(options.bind(), 16);
        } catch (IOException e) {
            listener.close();
            throw new IOException("cannot listen on " + options.bind() + ": " + e.getMessage(), e);
        }
    }

    Options options() {
        return options;
    }

    public InetSocketAddress address() throws IOException {
        return (InetSocketAddress) listener.getLocalAddress();
    }

    /** Warms the migration's code up and starts the first standby guard; then the agent is ready. */
    public void prepare() throws IOException {
        Warmup.run(options.workDir(), options.stub(), "agent");
        synchronized (this) {
            standby = newGuard();
        }
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
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
            AgentSession s = new AgentSession(this, ch, String.valueOf(ch.getRemoteAddress()));
            Thread t = new Thread(s, "migration " + ch.getRemoteAddress());
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
        synchronized (this) {
            standby = next;
            busy = false;
        }
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
