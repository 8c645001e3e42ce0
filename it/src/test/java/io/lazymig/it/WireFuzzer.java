package io.lazymig.it;

import io.lazymig.protocol.Frame;
import io.lazymig.protocol.FrameType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32C;

/**
 * Frames for the wire fuzz tests, from one seeded {@link Random}: valid frames (header and CRC32C
 * as {@code FrameCodec} writes them) and their mutations — bits flipped, bytes replaced, the length
 * made plausible or huge, the type changed, the CRC broken, the frame truncated or extended —
 * and plain garbage. The seed is {@code -Dlazymig.fuzz.seed=N}, or the clock's; tests print it.
 */
final class WireFuzzer {
    static final String SEED_PROPERTY = "lazymig.fuzz.seed";

    final Random rnd;

    WireFuzzer(long seed) {
        this.rnd = new Random(seed);
    }

    /** The run's seed: the property's, or a fresh one. */
    static long seed() {
        String s = System.getProperty(SEED_PROPERTY);
        return s == null || s.isBlank() ? System.nanoTime() : Long.parseLong(s.trim());
    }

    /** A valid frame. */
    static byte[] frame(FrameType type, int flags, long id, byte[] payload) {
        CRC32C c = new CRC32C();
        c.update(payload);
        ByteBuffer b = ByteBuffer.allocate(Frame.HEADER_SIZE + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(payload.length).putShort((short) type.code).putShort((short) flags).putLong(id)
                .putInt(payload.length == 0 ? 0 : (int) c.getValue()).putInt(0).put(payload);
        return b.array();
    }

    static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    byte[] bytes(int max) {
        byte[] b = new byte[1 + rnd.nextInt(max)];
        rnd.nextBytes(b);
        return b;
    }

    /** A length a reader might believe: small, near a bound, or anywhere up to the largest payload. */
    int plausibleLength() {
        return switch (rnd.nextInt(5)) {
            case 0 -> rnd.nextInt(64);
            case 1 -> rnd.nextInt(4096);
            case 2 -> Frame.MAX_PAYLOAD - rnd.nextInt(8);
            case 3 -> 256 + rnd.nextInt(3) - 1;
            default -> rnd.nextInt(Frame.MAX_PAYLOAD + 1);
        };
    }

    /** A length no reader may believe: beyond the bound, negative, or near 2^32. */
    int hugeLength() {
        return switch (rnd.nextInt(4)) {
            case 0 -> Frame.MAX_PAYLOAD + 1 + rnd.nextInt(1 << 20);
            case 1 -> -1 - rnd.nextInt(16);
            case 2 -> Integer.MAX_VALUE - rnd.nextInt(16);
            default -> 0x80000000 | rnd.nextInt();
        };
    }

    /** A frame type code: a known one, or anything. */
    int typeCode() {
        FrameType[] all = FrameType.values();
        return rnd.nextInt(4) == 0 ? rnd.nextInt(1 << 16) : all[rnd.nextInt(all.length)].code;
    }

    /** A header with the given length and random other fields, then {@code body} bytes of garbage. */
    byte[] header(int length, int body) {
        ByteBuffer b = le(Frame.HEADER_SIZE + body);
        b.putInt(length).putShort((short) typeCode()).putShort((short) rnd.nextInt(4)).putLong(rnd.nextLong())
                .putInt(rnd.nextInt()).putInt(rnd.nextInt(8) == 0 ? rnd.nextInt() : 0);
        byte[] rest = new byte[body];
        rnd.nextBytes(rest);
        b.put(rest);
        return b.array();
    }

    /** One mutation of a valid frame. */
    byte[] mutate(byte[] valid) {
        byte[] m = valid.clone();
        switch (rnd.nextInt(8)) {
            case 0 -> { // flip 1..4 bits anywhere
                for (int i = 1 + rnd.nextInt(4); i > 0; i--) {
                    int at = rnd.nextInt(m.length);
                    m[at] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> { // replace bytes of the payload, CRC fixed up: a well-formed frame with bad fields
                if (m.length > Frame.HEADER_SIZE) {
                    for (int i = 1 + rnd.nextInt(4); i > 0; i--) {
                        m[Frame.HEADER_SIZE + rnd.nextInt(m.length - Frame.HEADER_SIZE)] = (byte) rnd.nextInt(256);
                    }
                    fixCrc(m);
                }
            }
            case 2 -> ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putInt(0, plausibleLength());
            case 3 -> ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putInt(0, hugeLength());
            case 4 -> ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putShort(4, (short) typeCode());
            case 5 -> ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putInt(16, rnd.nextInt());
            case 6 -> m = Arrays.copyOf(m, rnd.nextInt(m.length)); // truncated
            default -> { // extended: trailing garbage the length does not cover
                byte[] tail = bytes(64);
                m = Arrays.copyOf(m, m.length + tail.length);
                System.arraycopy(tail, 0, m, valid.length, tail.length);
            }
        }
        return m;
    }

    static void fixCrc(byte[] frame) {
        CRC32C c = new CRC32C();
        c.update(frame, Frame.HEADER_SIZE, frame.length - Frame.HEADER_SIZE);
        ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).putInt(16, frame.length == Frame.HEADER_SIZE ? 0
                : (int) c.getValue());
    }
}
