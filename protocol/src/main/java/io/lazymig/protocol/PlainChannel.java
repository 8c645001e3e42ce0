package io.lazymig.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;

/**
 * A server's connection with --no-encryption: the socket, after a look at the client's first
 * byte. A TLS client's first byte is 22 (a handshake record) where a lazymig HELLO's is 44: such
 * a client is told in one line that the two ends disagree on encryption, rather than left to fail
 * on a frame length it never sent. The byte read is handed to the first read.
 */
final class PlainChannel implements ByteChannel, GatheringByteChannel {
    private final SocketChannel ch;
    private ByteBuffer first;

    private PlainChannel(SocketChannel ch, ByteBuffer first) {
        this.ch = ch;
        this.first = first;
    }

    static PlainChannel server(SocketChannel ch, String peer) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new java.io.EOFException(peer + " closed the connection");
            }
        }
        b.flip();
        if (b.get(0) == 22) {
            // A lazymig ERROR frame, which a TLS client takes for what it is: no TLS here.
            new FrameCodec(peer).write(ch, FrameType.ERROR, 0, 0, Errors.encode(Errors.REFUSED,
                    "this side runs with --no-encryption"));
            linger(ch);
            throw new ProtocolException(peer + " speaks TLS (encryption on) and this side runs with --no-encryption: "
                    + "use --no-encryption on both sides or on neither");
        }
        return new PlainChannel(ch, b);
    }

    /**
     * After a refusal written to a peer that disagrees on encryption: our side shut, its bytes
     * read until it hangs up (at most 64 KiB, within the caller's deadline), so that closing does
     * not turn its unread bytes into a reset that would destroy the refusal before it is read.
     */
    static void linger(SocketChannel ch) {
        try {
            ch.shutdownOutput();
            ByteBuffer sink = ByteBuffer.allocate(4096);
            for (int total = 0; total < 64 * 1024; total += 4096) {
                sink.clear();
                if (ch.read(sink) < 0) {
                    return;
                }
            }
        } catch (IOException ignored) {
            // gone already
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        ByteBuffer f = first;
        if (f != null) {
            int n = 0;
            while (f.hasRemaining() && dst.hasRemaining()) {
                dst.put(f.get());
                n++;
            }
            if (!f.hasRemaining()) {
                first = null;
            }
            return n;
        }
        return ch.read(dst);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return ch.write(src);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return ch.write(srcs, offset, length);
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return ch.write(srcs);
    }

    @Override
    public boolean isOpen() {
        return ch.isOpen();
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
