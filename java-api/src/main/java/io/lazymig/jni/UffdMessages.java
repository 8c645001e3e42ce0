package io.lazymig.jni;

import java.nio.ByteBuffer;

/**
 * A reusable batch of uffd messages for a fault loop: one direct buffer, one read(2) and one JNI
 * crossing per {@link #readFrom}, one {@link UffdMessage} view reused for every {@link #get}.
 * Not thread-safe: one reader thread owns it.
 *
 * <pre>
 * UffdMessages batch = new UffdMessages(64);
 * int n = batch.readFrom(uffd);            // 0 when nothing is pending
 * for (int i = 0; i &lt; n; i++) {
 *     UffdMessage m = batch.get(i);        // the same object each time
 *     ...
 * }
 * </pre>
 */
public final class UffdMessages {
    private final ByteBuffer buf;
    private final long address;
    private final int capacity;
    private final UffdMessage view = new UffdMessage();
    private int count;

    /** Room for {@code capacity} messages. */
    public UffdMessages(int capacity) {
        if (capacity <= 0 || capacity > Integer.MAX_VALUE / UffdMessage.SIZE) {
            throw new IllegalArgumentException("UffdMessages: capacity must be in 1.."
                    + Integer.MAX_VALUE / UffdMessage.SIZE + ", got " + capacity);
        }
        this.capacity = capacity;
        this.buf = Buffers.allocatePageAligned(capacity * UffdMessage.SIZE);
        this.address = Buffers.address(buf);
    }

    /** Replaces the batch with what one read(2) of {@code uffd} returns; returns the count (0 on EAGAIN). */
    public int readFrom(Userfaultfd uffd) throws NativeException {
        count = 0;
        count = uffd.readMessages(address, capacity);
        return count;
    }

    /** Messages held since the last {@link #readFrom}. */
    public int count() {
        return count;
    }

    public int capacity() {
        return capacity;
    }

    /** The shared view positioned at message {@code i}; valid until the next get or read. */
    public UffdMessage get(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("message " + i + " of " + count);
        }
        return view.wrap(buf, i);
    }

    /** The underlying buffer (messages at offsets {@code i * UffdMessage.SIZE}). */
    public ByteBuffer buffer() {
        return buf;
    }
}
