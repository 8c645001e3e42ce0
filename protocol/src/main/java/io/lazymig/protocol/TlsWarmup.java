package io.lazymig.protocol;

import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the TLS path once in memory, at start, on a thread of its own: a handshake between two
 * engines of the key file's identity, then {@value #BYTES} bytes wrapped and unwrapped as
 * {@link TlsChannel} does (records of 16 KiB). The JDK's AES-GCM runs its AES-NI and
 * carry-less-multiply code only once the JIT compiled its methods: cold, the first 128 MiB went
 * through wrap and unwrap at 77-155 MB/s, the next at ~0.9-1.1 GB/s (in memory, one core, this
 * machine); a cold 256 MiB lazy transfer ran at 59 MB/s against 380 MB/s in the clear. The
 * migration then starts with the fast code in place.
 *
 * <p>It must not run beside the real work on two vCPUs (~1.3 s of one core): the commands whose
 * freeze is a downtime wait for it before they freeze ({@link #finish}); the others stop it once
 * their real work begins ({@link #stop}).
 */
public final class TlsWarmup {
    private static final Logger log = LoggerFactory.getLogger("lazymig.warmup");
    static final long BYTES = 64L << 20;
    static final int RECORD = 1024;

    private static volatile Thread running;
    private static volatile boolean stopped;

    private TlsWarmup() {
    }

    /** Waits (up to 30 s) for the warm-up started by {@link #inBackground} to end: before a freeze. */
    public static void finish() throws InterruptedException {
        Thread t = running;
        if (t != null) {
            t.join(30_000);
        }
    }

    /** Stops the warm-up at its next record batch: the real transfer begins and needs the CPU. */
    public static void stop() {
        stopped = true;
    }

    /** Starts the warm-up on a daemon thread when {@code key} encrypts; returns at once. */
    public static void inBackground(AuthKey key) {
        if (key == null || key.tls() == null) {
            return;
        }
        Thread t = new Thread(() -> {
            long t0 = System.nanoTime();
            try {
                run(key.tls(), BYTES);
                log.debug("TLS warmed up in {} ms ({} MiB through AES-GCM)", (System.nanoTime() - t0) / 1_000_000,
                        BYTES >> 20);
            } catch (SSLException | RuntimeException e) {
                log.debug("TLS warm-up failed: {}", e.toString());
            }
        }, "tls warm-up");
        t.setDaemon(true);
        running = t;
        t.start();
    }

    /** The handshake and {@code bytes} of data client to server, in memory. */
    static void run(TlsIdentity id, long bytes) throws SSLException {
        SSLEngine client = id.engine(true);
        SSLEngine server = id.engine(false);
        int packet = client.getSession().getPacketBufferSize();
        ByteBuffer toServer = ByteBuffer.allocate(TlsChannel.BULK + packet);
        ByteBuffer toClient = ByteBuffer.allocate(TlsChannel.BULK + packet);
        ByteBuffer app = ByteBuffer.allocateDirect(1 << 20);
        ByteBuffer empty = ByteBuffer.allocate(0);
        client.beginHandshake();
        server.beginHandshake();
        for (int round = 0; round < 100 && (busy(client) || busy(server)); round++) {
            step(client, empty, toServer, toClient, app);
            step(server, empty, toClient, toServer, app);
        }
        if (busy(client) || busy(server)) {
            throw new SSLException("the in-memory handshake did not finish");
        }
        toServer.clear();
        // Small records: the JIT compiles a method after thousands of calls, and the cipher's
        // methods are called once per record, so many small records get there with few bytes.
        // Then full records, as a transfer sends them.
        ByteBuffer small = ByteBuffer.allocateDirect(RECORD);
        ByteBuffer full = ByteBuffer.allocateDirect(1 << 20);
        for (long done = 0; done < bytes && !stopped; ) {
            ByteBuffer data = done < bytes / 4 ? small : full;
            done += data.capacity();
            data.clear();
            while (data.hasRemaining()) {
                toServer.clear();
                while (data.hasRemaining() && toServer.remaining() >= packet) {
                    client.wrap(data, toServer);
                }
                toServer.flip();
                while (toServer.hasRemaining()) {
                    app.clear();
                    SSLEngineResult r = server.unwrap(toServer, app);
                    if (r.getStatus() != SSLEngineResult.Status.OK) {
                        break;
                    }
                }
            }
        }
    }

    private static boolean busy(SSLEngine e) {
        SSLEngineResult.HandshakeStatus s = e.getHandshakeStatus();
        return s != SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING && s != SSLEngineResult.HandshakeStatus.FINISHED;
    }

    /** One engine's turn: its tasks, what it has to send (appended to {@code out}), what it was sent (from {@code in}). */
    private static void step(SSLEngine e, ByteBuffer empty, ByteBuffer out, ByteBuffer in, ByteBuffer app)
            throws SSLException {
        while (true) {
            switch (e.getHandshakeStatus()) {
                case NEED_TASK -> {
                    Runnable r;
                    while ((r = e.getDelegatedTask()) != null) {
                        r.run();
                    }
                }
                case NEED_WRAP -> e.wrap(empty, out);
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    in.flip();
                    app.clear();
                    SSLEngineResult r = e.unwrap(in, app);
                    in.compact();
                    if (r.getStatus() != SSLEngineResult.Status.OK || r.bytesConsumed() == 0) {
                        return; // needs the other side's bytes
                    }
                }
                default -> {
                    return;
                }
            }
        }
    }
}
