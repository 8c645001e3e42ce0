package io.lazymig.protocol;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FrameCodecTest {
    private final FrameCodec codec = new FrameCodec("peer");

    private byte[] encode(FrameType type, int flags, long id, ByteBuffer... parts) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        codec.write(Channels.newChannel(out), type, flags, id, parts);
        return out.toByteArray();
    }

    @Test
    void roundTripWithTwoParts() throws Exception {
        ByteBuffer head = Messages.pageRange(new Messages.PageRange(42, 0x7f0000001000L, 2));
        byte[] data = new byte[8192];
        new Random(1).nextBytes(data);
        byte[] wire = encode(FrameType.PAGES, Frame.FLAG_FAULT, 7, head, ByteBuffer.wrap(data));
        assertEquals(Frame.HEADER_SIZE + 16 + 8192, wire.length);
        var in = Channels.newChannel(new ByteArrayInputStream(wire));
        FrameCodec.Header h = codec.readHeader(in);
        assertEquals(FrameType.PAGES, h.type());
        assertEquals(7, h.id());
        assertEquals(Frame.FLAG_FAULT, h.flags());
        ByteBuffer sub = ByteBuffer.allocateDirect(16);
        ByteBuffer pages = ByteBuffer.allocateDirect(8192);
        codec.readPayload(in, h, sub, pages);
        sub.flip();
        pages.flip();
        assertEquals(new Messages.PageRange(42, 0x7f0000001000L, 2), Messages.pageRange(sub));
        byte[] got = new byte[8192];
        pages.get(got);
        assertEquals(ByteBuffer.wrap(data), ByteBuffer.wrap(got));
    }

    @Test
    void corruptDataIsACrcError() throws Exception {
        byte[] wire = encode(FrameType.PAGES, 0, 1, ByteBuffer.wrap(new byte[64]));
        wire[wire.length - 1] ^= 1;
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> codec.read(Channels.newChannel(new ByteArrayInputStream(wire)), 1024));
        assertThat(e.getMessage(), containsString("CRC32C"));
    }

    @Test
    void oversizedLengthIsRefusedBeforeAllocating() {
        ByteBuffer h = ByteBuffer.allocate(Frame.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(-1).putShort((short) FrameType.PAGES.code);
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> codec.readHeader(Channels.newChannel(new ByteArrayInputStream(h.array()))));
        assertThat(e.getMessage(), containsString("beyond the"));
    }

    @Test
    void unknownTypeAndTruncationAndEof() throws Exception {
        ByteBuffer h = ByteBuffer.allocate(Frame.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0).putShort((short) 999);
        assertThrows(ProtocolException.class, () -> codec.readHeader(Channels.newChannel(new ByteArrayInputStream(h.array()))));
        byte[] wire = encode(FrameType.PING, 0, 1, ByteBuffer.wrap(new byte[10]));
        byte[] cut = java.util.Arrays.copyOf(wire, wire.length - 3);
        // A frame cut short is a lost connection (the reader reconnects), never a malformed frame.
        EOFException midFrame = assertThrows(EOFException.class,
                () -> codec.read(Channels.newChannel(new ByteArrayInputStream(cut)), 1024));
        assertThat(midFrame.getMessage(), containsString("in the middle of a frame"));
        assertThrows(EOFException.class, () -> codec.read(Channels.newChannel(new ByteArrayInputStream(new byte[0])), 1024));
    }

    @Test
    void randomGarbageNeverCrashesOrAllocatesWithoutBound() {
        Random r = new Random(5);
        for (int i = 0; i < 2000; i++) {
            byte[] junk = new byte[r.nextInt(64)];
            r.nextBytes(junk);
            try {
                codec.read(Channels.newChannel(new ByteArrayInputStream(junk)), 4096);
            } catch (java.io.IOException expected) {
                // ProtocolException or EOFException: both fine
            }
        }
    }
}
