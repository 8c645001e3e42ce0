package io.lazymig.migrate;

import io.lazymig.protocol.Errors;
import io.lazymig.protocol.Frame;
import io.lazymig.protocol.FrameCodec;
import io.lazymig.protocol.FrameType;
import io.lazymig.protocol.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ByteChannel;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The connection between migrate (B) and the agent (A), after the handshake: CONTROL frames carry
 * one message each, {@code key=value} lines with the message's kind under "kind"; FILE frames carry
 * the images (u16 name length, name, u64 offset, data); an ERROR frame ends the migration with its
 * message. Sends are serialised (the agent's progress comes from another thread); reads belong to
 * one thread.
 *
 * <p>Messages, in order: B→A migrate (pid, any-pid), A→B ready (deadline, reconnect) — nothing
 * is frozen before it —, B→A serving (page-port), the files, start; A→B running (pid, steps);
 * A→B progress (text) any number of times, from before running on; A→B complete (stats).
 */
final class Control implements AutoCloseable {
    static final int MAX_MESSAGE = 64 * 1024;
    /** Image data per FILE frame. */
    static final int FILE_CHUNK = 1 << 20;

    private final SocketChannel channel;
    /** What frames go over: TLS over {@link #channel}, or the socket itself (--no-encryption). */
    private final ByteChannel conn;
    private final FrameCodec sendCodec;
    private final FrameCodec receiveCodec;
    private final String peer;
    private final Object sendLock = new Object();

    /** The peer said why it stops (an ERROR frame), as opposed to a connection that broke. */
    static final class PeerError extends IOException {
        PeerError(String message) {
            super(message);
        }
    }

    Control(SocketChannel channel, ByteChannel conn, FrameCodec sendCodec, String peer) {
        this.channel = channel;
        this.conn = conn;
        this.sendCodec = sendCodec;
        this.receiveCodec = new FrameCodec(peer);
        this.peer = peer;
    }

    SocketChannel channel() {
        return channel;
    }

    String peer() {
        return peer;
    }

    void send(String kind, Map<String, String> fields) throws IOException {
        StringBuilder b = new StringBuilder("kind=").append(kind).append('\n');
        fields.forEach((k, v) -> b.append(k).append('=').append(v.replace('\n', ' ')).append('\n'));
        ByteBuffer payload = ByteBuffer.wrap(b.toString().getBytes(StandardCharsets.UTF_8));
        synchronized (sendLock) {
            sendCodec.write(conn, FrameType.CONTROL, 0, 0, payload);
        }
    }

    void send(String kind) throws IOException {
        send(kind, Map.of());
    }

    void sendError(String message) {
        synchronized (sendLock) {
            try {
                sendCodec.write(conn, FrameType.ERROR, 0, 0, Errors.encode(Errors.REFUSED, message));
            } catch (IOException e) {
                // the peer is gone; it learns nothing more
            }
        }
    }

    void sendFile(String name, ByteBuffer header, ByteBuffer data) throws IOException {
        synchronized (sendLock) {
            sendCodec.write(conn, FrameType.FILE, 0, 0, new ByteBuffer[] {header, data});
        }
    }

    /**
     * Whole images held in memory, each one FILE frame at offset 0 (as {@link #sendFile} sends it),
     * laid out together first and written to the connection in one go: one frame written at a time,
     * the 110 images of a 100-thread process cost as many TLS records and write calls. The frames,
     * so what the agent reads, are the same.
     */
    void sendWholeFiles(List<String> names, List<byte[]> contents) throws IOException {
        int bytes = 0;
        for (byte[] c : contents) {
            bytes += c.length + Frame.HEADER_SIZE + 64;
        }
        ByteArrayOutputStream frames = new ByteArrayOutputStream(bytes);
        WritableByteChannel memory = Channels.newChannel(frames);
        synchronized (sendLock) {
            for (int i = 0; i < names.size(); i++) {
                sendCodec.write(memory, FrameType.FILE, 0, 0,
                        new ByteBuffer[] {fileHeader(names.get(i), 0), ByteBuffer.wrap(contents.get(i))});
            }
            ByteBuffer all = ByteBuffer.wrap(frames.toByteArray());
            while (all.hasRemaining()) {
                conn.write(all);
            }
        }
    }

    static ByteBuffer fileHeader(String name, long offset) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(2 + n.length + 8).order(ByteOrder.LITTLE_ENDIAN).putShort((short) n.length).put(n)
                .putLong(offset).flip();
    }

    /** The next frame: a CONTROL or FILE frame; an ERROR frame becomes an exception with the peer's message. */
    Frame read() throws IOException {
        Frame f = receiveCodec.read(conn, Frame.MAX_PAYLOAD);
        if (f.type() == FrameType.ERROR) {
            throw new PeerError(peer + ": " + Errors.decode(f.payload()).message());
        }
        if (f.type() != FrameType.CONTROL && f.type() != FrameType.FILE) {
            throw new ProtocolException(peer + " sent " + f.type() + " on the migration connection");
        }
        if (f.type() == FrameType.CONTROL && f.payload().remaining() > MAX_MESSAGE) {
            throw new ProtocolException(peer + " sent a control message of " + f.payload().remaining() + " bytes");
        }
        return f;
    }

    /** Reads the next message, which must be a CONTROL of {@code kind}. */
    Map<String, String> expect(String kind) throws IOException {
        Frame f = read();
        Map<String, String> m = f.type() == FrameType.CONTROL ? decode(f.payload()) : null;
        if (m == null || !kind.equals(m.get("kind"))) {
            throw new ProtocolException(peer + " sent " + (m == null ? "a file" : "'" + m.get("kind") + "'") + " where '"
                    + kind + "' belongs");
        }
        return m;
    }

    static Map<String, String> decode(ByteBuffer payload) {
        Map<String, String> m = new LinkedHashMap<>();
        String text = StandardCharsets.UTF_8.decode(payload).toString();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(Errors.printable(line.substring(0, eq)), Errors.printable(line.substring(eq + 1)));
            }
        }
        return m;
    }

    static long number(Map<String, String> m, String key, String peer) throws ProtocolException {
        try {
            return Long.parseLong(m.getOrDefault(key, ""));
        } catch (NumberFormatException e) {
            throw new ProtocolException(peer + " sent no number for '" + key + "'");
        }
    }

    /**
     * After an error reply, while the peer may still be sending (images): reads and drops what
     * comes until its end or {@code limit}, so that closing does not reset the connection — a
     * reset can discard the error reply before the peer reads it.
     */
    void drainAfterError(java.time.Duration limit) {
        try {
            channel.shutdownOutput();
            io.lazymig.protocol.ConnectionDeadline.within(channel, limit, peer + "'s remaining data", () -> {
                ByteBuffer sink = ByteBuffer.allocate(64 * 1024);
                while (channel.read(sink.clear()) >= 0) {
                    // dropped: the migration failed
                }
                return null;
            });
        } catch (IOException e) {
            // the peer is gone or too slow: the close resets it
        }
    }

    /**
     * A write to the peer failed: the peer may have replied with its reason before it closed
     * (an agent whose disk is full); that reason, when it is there, rather than the broken pipe.
     */
    IOException reasonFor(IOException writeFailure, java.time.Duration patience) {
        try {
            Frame f = io.lazymig.protocol.ConnectionDeadline.within(channel, patience, peer + "'s error reply",
                    () -> receiveCodec.read(conn, Frame.MAX_PAYLOAD));
            if (f.type() == FrameType.ERROR) {
                return new PeerError(peer + ": " + Errors.decode(f.payload()).message());
            }
        } catch (IOException e) {
            // nothing readable: the write's own failure says it
        }
        return writeFailure;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
