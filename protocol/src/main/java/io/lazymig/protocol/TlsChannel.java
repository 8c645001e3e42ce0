package io.lazymig.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

/**
 * A connection under TLS 1.3: the JDK's {@link SSLEngine} over a blocking {@link SocketChannel}.
 * The frame codec reads and writes it as it would the socket.
 *
 * <p>Buffers: during the handshake (before the peer is authenticated) two heap buffers of one
 * TLS record each (~16.7 KiB: a record can be no smaller); after it, heap buffers of
 * {@value #BULK} bytes each way, so one write or read system call carries several records, and a
 * plaintext buffer of one record. Heap, not direct: the JDK's AES-GCM runs on arrays, and with
 * direct record buffers wrap plus unwrap ran at ~0.5 GB/s against ~1 GB/s with heap ones (in
 * memory, one core, this machine); the socket's copy between heap and kernel is a memcpy.
 * Copies: a write is encrypted from the caller's (direct) buffers into the outgoing buffer (the
 * engine copies the plaintext there and encrypts it in place), then copied by NIO into the
 * kernel; a read is copied by NIO from the kernel, decrypted in place by the engine, and its
 * plaintext copied straight into the caller's buffer when it has room for the whole record (page
 * data), else into the plaintext buffer and from there (the 20-byte frame headers and the record
 * they share). The plain path copies once each way (kernel to buffer); TLS adds two.
 *
 * <p>Threads: one thread reads; writes take {@link #writeLock} (the reader takes it too, for the
 * rare post-handshake message it must answer, a key update). The socket stays its owner's: a
 * {@link ConnectionDeadline} on it still shuts a silent peer's handshake down.
 */
final class TlsChannel implements ByteChannel, GatheringByteChannel {
    static final int BULK = 64 * 1024;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final SocketChannel ch;
    private final SSLEngine engine;
    private final String peer;
    private final Object writeLock = new Object();
    /** Bytes received and not yet decrypted (read mode). */
    private ByteBuffer netIn;
    /** Plaintext decrypted and not yet read (read mode). */
    private ByteBuffer appIn = ByteBuffer.allocate(0);
    /** Records to send; under {@link #writeLock}. */
    private ByteBuffer netOut;

    private TlsChannel(SocketChannel ch, SSLEngine engine, String peer) {
        this.ch = ch;
        this.engine = engine;
        this.peer = peer;
        int record = engine.getSession().getPacketBufferSize();
        this.netIn = ByteBuffer.allocate(record).flip();
        this.netOut = ByteBuffer.allocate(record);
    }

    /**
     * Runs the TLS handshake on {@code ch} (under the caller's deadline) and returns the channel
     * once both ends proved they hold the key file's key. A peer that speaks lazymig without TLS,
     * a peer with another key file, or a broken handshake fails here with one line naming the cause.
     */
    static TlsChannel handshake(SocketChannel ch, SSLEngine engine, String peer) throws IOException {
        TlsChannel t = new TlsChannel(ch, engine, peer);
        t.runHandshake();
        t.grow();
        return t;
    }

    private void runHandshake() throws IOException {
        boolean client = engine.getUseClientMode();
        boolean firstChecked = false;
        if (!client) {
            // A plain lazymig client's first bytes are its HELLO frame's length: tell it so in its own framing.
            if (fillAtLeast(1) < 1) {
                throw new EOFException(peer + " closed the connection before its TLS handshake");
            }
            if (netIn.get(0) != 22) {
                new FrameCodec(peer).write(ch, FrameType.ERROR, 0, 0, Errors.encode(Errors.REFUSED,
                        "this side requires encryption (TLS 1.3) and you run with --no-encryption: use "
                                + "--no-encryption on both sides or on neither"));
                PlainChannel.linger(ch);
                throw new ProtocolException(peer + " speaks lazymig without encryption (it runs with --no-encryption?): "
                        + "use --no-encryption on both sides or on neither");
            }
            firstChecked = true;
        }
        try {
            engine.beginHandshake();
            while (true) {
                switch (engine.getHandshakeStatus()) {
                    case NEED_WRAP -> {
                        netOut.clear();
                        SSLEngineResult r = engine.wrap(EMPTY, netOut);
                        netOut.flip();
                        writeAll(netOut);
                        if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                            throw new SSLException("the TLS engine closed during the handshake");
                        }
                    }
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                        if (!firstChecked) {
                            if (fillAtLeast(2) < 2) {
                                throw closedDuringHandshake();
                            }
                            firstChecked = true;
                            if (!looksLikeTls(netIn)) {
                                throw new ProtocolException(peer + " answered without TLS: it runs with "
                                        + "--no-encryption (use --no-encryption on both sides or on neither)");
                            }
                        }
                        SSLEngineResult r = engine.unwrap(netIn, appIn);
                        switch (r.getStatus()) {
                            case BUFFER_UNDERFLOW -> {
                                if (fill() < 0) {
                                    throw closedDuringHandshake();
                                }
                            }
                            case BUFFER_OVERFLOW -> appIn = ByteBuffer.allocate(engine.getSession()
                                    .getApplicationBufferSize()).flip();
                            case CLOSED -> throw closedDuringHandshake();
                            default -> {
                                // a handshake message consumed
                            }
                        }
                    }
                    case NEED_TASK -> runTasks();
                    default -> {
                        return; // NOT_HANDSHAKING: done
                    }
                }
            }
        } catch (SSLException e) {
            sendAlert();
            throw explain(e);
        }
    }

    /** TLS records start with a content type 20..23 and a major version 3; a lazymig frame's second byte is 0 here. */
    static boolean looksLikeTls(ByteBuffer b) {
        int type = b.get(b.position()) & 0xff;
        return type >= 20 && type <= 23 && b.get(b.position() + 1) == 3;
    }

    private ProtocolException closedDuringHandshake() {
        return new ProtocolException(peer + " closed the connection during the TLS handshake (it refused our "
                + "certificate: another key file? or it runs with --no-encryption)");
    }

    /** After a failed handshake the engine may hold an alert for the peer: send it (the peer then knows why). */
    private void sendAlert() {
        try {
            engine.closeOutbound();
            netOut.clear();
            engine.wrap(EMPTY, netOut);
            netOut.flip();
            writeAll(netOut);
        } catch (IOException | RuntimeException ignored) {
            // the peer is gone or the engine has nothing to say
        }
    }

    /** One line for a failed handshake, naming the likely cause. */
    private ProtocolException explain(SSLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateException) {
                return new ProtocolException(peer + ": authentication failed: " + t.getMessage() + " (copy one key file "
                        + "made by 'lazymig keygen' to both)");
            }
        }
        String m = String.valueOf(e.getMessage());
        if (m.contains("certificate_unknown") || m.contains("bad_certificate") || m.contains("unknown_ca")
                || m.contains("certificate_required") || m.contains("decrypt_error")) {
            return new ProtocolException(peer + " refused our certificate: authentication failed: the hosts hold different "
                    + "key files (copy one key file made by 'lazymig keygen' to both)");
        }
        return new ProtocolException("TLS handshake with " + peer + " failed: " + m);
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    /** After the handshake: buffers for bulk transfer, the bytes already received kept. */
    private void grow() {
        ByteBuffer in = ByteBuffer.allocate(Math.max(BULK, netIn.capacity()));
        in.put(netIn).flip();
        netIn = in;
        ByteBuffer app = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
        app.put(appIn).flip();
        appIn = app;
        synchronized (writeLock) {
            netOut = ByteBuffer.allocate(Math.max(BULK, 2 * engine.getSession().getPacketBufferSize()));
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (appIn.hasRemaining()) {
            return transfer(appIn, dst);
        }
        if (!dst.hasRemaining()) {
            return 0;
        }
        while (true) {
            ByteBuffer into = dst;
            SSLEngineResult r = engine.unwrap(netIn, dst);
            if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                into = appIn;
                appIn.clear();
                try {
                    r = engine.unwrap(netIn, appIn);
                } finally {
                    appIn.flip();
                }
            }
            afterUnwrap(r);
            switch (r.getStatus()) {
                case OK -> {
                    if (r.bytesProduced() > 0) {
                        return into == dst ? r.bytesProduced() : transfer(appIn, dst);
                    }
                    // a record without data (a session ticket, a key update): on to the next
                }
                case BUFFER_UNDERFLOW -> {
                    if (fill() < 0) {
                        return -1;
                    }
                }
                case CLOSED -> {
                    return -1;
                }
                default -> throw new ProtocolException(peer + " sent a TLS record larger than a record may be");
            }
        }
    }

    /** A post-handshake message may need a task or an answer (a key update answered with ours). */
    private void afterUnwrap(SSLEngineResult r) throws IOException {
        SSLEngineResult.HandshakeStatus hs = r.getHandshakeStatus();
        if (hs == SSLEngineResult.HandshakeStatus.NEED_TASK) {
            runTasks();
            hs = engine.getHandshakeStatus();
        }
        if (hs == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
            synchronized (writeLock) {
                netOut.clear();
                engine.wrap(EMPTY, netOut);
                netOut.flip();
                writeAll(netOut);
            }
        }
    }

    private static int transfer(ByteBuffer from, ByteBuffer to) {
        int n = Math.min(from.remaining(), to.remaining());
        ByteBuffer slice = from.slice(from.position(), n);
        to.put(slice);
        from.position(from.position() + n);
        return n;
    }

    /** Reads more bytes into {@link #netIn}; -1 at end of stream. */
    private int fill() throws IOException {
        netIn.compact();
        try {
            if (!netIn.hasRemaining()) {
                throw new ProtocolException(peer + " sent a TLS record larger than a record may be");
            }
            return ch.read(netIn);
        } finally {
            netIn.flip();
        }
    }

    /** Reads until {@link #netIn} holds at least {@code n} bytes or the stream ends; returns what it holds. */
    private int fillAtLeast(int n) throws IOException {
        while (netIn.remaining() < n) {
            if (fill() < 0) {
                break;
            }
        }
        return netIn.remaining();
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return (int) write(new ByteBuffer[] {src}, 0, 1);
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    /** Encrypts everything remaining in {@code srcs}: as many records as fit per system call. */
    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long total = remaining(srcs, offset, length);
        synchronized (writeLock) {
            long left = total;
            int record = engine.getSession().getPacketBufferSize();
            while (left > 0) {
                netOut.clear();
                do {
                    SSLEngineResult r = engine.wrap(srcs, offset, length, netOut);
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new java.nio.channels.ClosedChannelException();
                    }
                    if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                        break;
                    }
                    left -= r.bytesConsumed();
                } while (left > 0 && netOut.remaining() >= record);
                netOut.flip();
                writeAll(netOut);
            }
        }
        return total;
    }

    private static long remaining(ByteBuffer[] b, int offset, int length) {
        long n = 0;
        for (int i = offset; i < offset + length; i++) {
            n += b[i].remaining();
        }
        return n;
    }

    private void writeAll(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    @Override
    public boolean isOpen() {
        return ch.isOpen();
    }

    /** Closes the socket (no close_notify: frames are self-delimiting, a cut one is an error already). */
    @Override
    public void close() throws IOException {
        ch.close();
    }
}
