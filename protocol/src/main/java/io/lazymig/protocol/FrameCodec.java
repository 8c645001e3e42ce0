package io.lazymig.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Reads and writes frames on a blocking channel. Lengths are checked against
 * {@link Frame#MAX_PAYLOAD} before anything is allocated, so a peer cannot make us allocate by
 * its say-so; the payload's CRC32C is checked on every frame read. Payloads are read into
 * direct buffers (page data goes from there to UFFDIO_COPY without a copy on the heap).
 */
public final class FrameCodec {
    private final ByteBuffer header = ByteBuffer.allocateDirect(Frame.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer outHeader = ByteBuffer.allocateDirect(Frame.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    // Reused per direction (a reader and a writer may be two threads, each the only one on its
    // side), so that a frame allocates nothing here: garbage on the fault path means young GCs
    // during the transfer, each a pause of every waiting fault (issue 11).
    private final CRC32C inCrc = new CRC32C();
    private final CRC32C outCrc = new CRC32C();
    private final ByteBuffer[] outOne = new ByteBuffer[1];
    private final ByteBuffer[] outGather = new ByteBuffer[3];
    private final String peer;

    public FrameCodec(String peer) {
        this.peer = peer;
    }

    /** Reads the next frame header; returns the payload length after checking it. */
    public Header readHeader(ReadableByteChannel in) throws IOException {
        header.clear();
        readFully(in, header, true);
        header.flip();
        int length = header.getInt(0);
        int typeCode = header.getShort(4) & 0xffff;
        int flags = header.getShort(6) & 0xffff;
        long id = header.getLong(8);
        int crc = header.getInt(16);
        if (length < 0 || length > Frame.MAX_PAYLOAD) {
            throw new ProtocolException(peer + " sent a frame of " + Integer.toUnsignedString(length)
                    + " bytes, beyond the " + Frame.MAX_PAYLOAD + "-byte bound");
        }
        FrameType type = FrameType.of(typeCode);
        if (type == null) {
            throw new ProtocolException(peer + " sent an unknown frame type " + typeCode);
        }
        return new Header(type, flags, id, length, crc);
    }

    /** The fixed part of a frame. */
    public record Header(FrameType type, int flags, long id, int length, int crc) {
    }

    /**
     * Reads a frame's payload into {@code parts} in order (their remaining space must add up to
     * the length; e.g. a small sub-header then page-aligned page data) and checks its CRC32C.
     */
    public void readPayload(ReadableByteChannel in, Header h, ByteBuffer... parts) throws IOException {
        long total = 0;
        for (ByteBuffer b : parts) {
            total += b.remaining();
        }
        if (total != h.length()) {
            throw new ProtocolException(peer + " sent a " + h.type() + " frame of " + h.length() + " bytes, expected "
                    + total);
        }
        CRC32C c = inCrc;
        c.reset();
        for (ByteBuffer b : parts) {
            int start = b.position();
            readFully(in, b, false);
            // the bytes just read, without a duplicate: update() leaves the position where it was
            int end = b.position();
            int limit = b.limit();
            b.position(start).limit(end);
            c.update(b);
            b.limit(limit);
        }
        if ((int) c.getValue() != h.crc()) {
            throw new ProtocolException(peer + " sent a " + h.type() + " frame whose CRC32C does not match its data");
        }
    }

    /** Reads and drops a payload (a frame nobody waits for any more), still checking its length bound. */
    public void skipPayload(ReadableByteChannel in, Header h) throws IOException {
        ByteBuffer scratch = ByteBuffer.allocate(Math.min(h.length(), 64 * 1024));
        int left = h.length();
        while (left > 0) {
            scratch.clear().limit(Math.min(left, scratch.capacity()));
            readFully(in, scratch, false);
            left -= scratch.position();
        }
    }

    /** Reads a whole frame with a fresh little-endian heap payload (for small control frames). */
    public Frame read(ReadableByteChannel in, int maxPayload) throws IOException {
        Header h = readHeader(in);
        if (h.length() > maxPayload) {
            throw new ProtocolException(peer + " sent a " + h.type() + " frame of " + h.length() + " bytes, beyond "
                    + maxPayload);
        }
        ByteBuffer payload = ByteBuffer.allocate(h.length()).order(ByteOrder.LITTLE_ENDIAN);
        readPayload(in, h, payload);
        payload.flip();
        return new Frame(h.type(), h.flags(), h.id(), payload);
    }

    /** Writes one frame: header then the payload's remaining bytes (which are consumed). */
    public void write(WritableByteChannel out, FrameType type, int flags, long id, ByteBuffer payload) throws IOException {
        if (payload == null) {
            write(out, type, flags, id, outGather, 0);
            return;
        }
        outOne[0] = payload;
        try {
            write(out, type, flags, id, outOne, 1);
        } finally {
            outOne[0] = null;
        }
    }

    /** Writes one frame whose payload is the remaining bytes of {@code parts}, in order. */
    public void write(WritableByteChannel out, FrameType type, int flags, long id, ByteBuffer[] parts) throws IOException {
        write(out, type, flags, id, parts, parts.length);
    }

    private void write(WritableByteChannel out, FrameType type, int flags, long id, ByteBuffer[] parts, int count)
            throws IOException {
        long length = 0;
        CRC32C c = outCrc;
        c.reset();
        for (int i = 0; i < count; i++) {
            ByteBuffer b = parts[i];
            int start = b.position();
            length += b.remaining();
            c.update(b);
            b.position(start);
        }
        if (length > Frame.MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload of " + length + " bytes beyond the bound");
        }
        outHeader.clear();
        outHeader.putInt((int) length).putShort((short) type.code).putShort((short) flags).putLong(id)
                .putInt(length == 0 ? 0 : (int) c.getValue()).putInt(0).flip();
        if (out instanceof GatheringByteChannel g) {
            // one writev for header and payload: one segment on the wire for a request, not two
            ByteBuffer[] all = count < outGather.length ? outGather : new ByteBuffer[count + 1];
            all[0] = outHeader;
            System.arraycopy(parts, 0, all, 1, count);
            try {
                long left = Frame.HEADER_SIZE + length;
                while (left > 0) {
                    left -= g.write(all, 0, count + 1);
                }
            } finally {
                Arrays.fill(all, null); // no buffer kept alive past its frame
            }
            return;
        }
        writeFully(out, outHeader);
        for (int i = 0; i < count; i++) {
            writeFully(out, parts[i]);
        }
    }

    static int crc(ByteBuffer data) {
        CRC32C c = new CRC32C();
        c.update(data);
        return (int) c.getValue();
    }

    private void readFully(ReadableByteChannel in, ByteBuffer dst, boolean atFrameStart) throws IOException {
        boolean first = true;
        while (dst.hasRemaining()) {
            int n = in.read(dst);
            if (n < 0) {
                if (atFrameStart && first) {
                    throw new EOFException(peer + " closed the connection");
                }
                // A cut connection, not a malformed frame: the peer died or the link broke, and a
                // reader that reconnects must be able to tell the two apart.
                throw new EOFException(peer + " closed the connection in the middle of a frame");
            }
            first = false;
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer src) throws IOException {
        while (src.hasRemaining()) {
            out.write(src);
        }
    }
}
