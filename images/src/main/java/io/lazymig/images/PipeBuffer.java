package io.lazymig.images;

import java.util.Arrays;

/**
 * What was in a pipe's (or a FIFO's) buffer at dump: its size (F_GETPIPE_SZ; 0 when unknown: the
 * kernel's default is kept) and the bytes written but not yet read, in order. Restore puts them
 * back, so the reader reads exactly these bytes first: nothing lost, nothing read twice.
 */
public record PipeBuffer(int size, byte[] bytes) {
    /** Nothing in flight, size unknown (a CRIU image without a data entry for the pipe). */
    public static final PipeBuffer NONE = new PipeBuffer(0, new byte[0]);
    /** The largest buffer restore sets up (the kernel allows up to /proc/sys/fs/pipe-max-size, root beyond). */
    public static final int MAX_SIZE = 1 << 30;

    public PipeBuffer {
        if (size < 0 || size > MAX_SIZE) {
            throw new IllegalArgumentException("pipe buffer size " + Integer.toUnsignedString(size) + " outside 0.."
                    + MAX_SIZE);
        }
        if (size != 0 && bytes.length > size) {
            throw new IllegalArgumentException(bytes.length + " bytes in a pipe buffer of " + size);
        }
        bytes = bytes.clone();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    public int length() {
        return bytes.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PipeBuffer b && b.size == size && Arrays.equals(b.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return 31 * size + Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "PipeBuffer[size=" + size + ", " + bytes.length + " bytes]";
    }
}
