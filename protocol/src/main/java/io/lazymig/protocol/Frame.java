package io.lazymig.protocol;

import java.nio.ByteBuffer;

/**
 * One frame: a 24-byte little-endian header — u32 payload length, u16 type, u16 flags, u64 id,
 * u32 CRC32C of the payload (0 when empty), u32 reserved (0) — then the payload. Replies echo the
 * request's id, so they may come out of order.
 */
public record Frame(FrameType type, int flags, long id, ByteBuffer payload) {
    public static final int HEADER_SIZE = 24;
    /** The largest payload either side accepts: a 4 MiB chunk of pages plus its small header. */
    public static final int MAX_PAYLOAD = (4 << 20) + 64;
    /** GET_PAGES flag: a fault is waiting on this request (served before background ones). */
    public static final int FLAG_FAULT = 1;

    public boolean hasFlag(int f) {
        return (flags & f) != 0;
    }
}
