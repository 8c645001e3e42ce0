package io.lazymig.jni;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A reusable batch of (local address, remote address, length) entries for
 * {@link ProcessMemory#readv}/{@link ProcessMemory#writev}, kept as two native
 * {@code struct iovec} arrays in one direct buffer, laid out as C says ({@code sizeof},
 * {@code offsetof}), so a transfer crosses JNI once without copying. Entry i moves
 * {@code length} bytes between local[i] and remote[i]. Not thread-safe: one batch per thread.
 *
 * <p>Local addresses are raw memory of this process: prefer {@link #add(ByteBuffer, long)},
 * which also keeps the buffer alive until {@link #clear()}.
 */
public final class IoVecBatch {
    private static final int IOVEC_SIZE = (int) ProcessMemory.layout("IOVEC_SIZE");
    private static final int BASE = (int) ProcessMemory.layout("IOVEC_BASE_OFFSET");
    private static final int LEN = (int) ProcessMemory.layout("IOVEC_LEN_OFFSET");

    private final int capacity;
    private final ByteBuffer iovecs;
    private final long localArray;
    private final long remoteArray;
    /** Buffers whose addresses are in the batch: they must not be freed before the transfer. */
    private final Object[] keepAlive;
    private int size;
    private long totalLength;

    /** A batch of up to {@code capacity} entries (more than IOV_MAX is fine: calls are split). */
    public IoVecBatch(int capacity) {
        if (capacity <= 0 || capacity > Integer.MAX_VALUE / (2 * IOVEC_SIZE)) {
            throw new IllegalArgumentException("bad batch capacity " + capacity);
        }
        this.capacity = capacity;
        this.iovecs = ByteBuffer.allocateDirect(2 * capacity * IOVEC_SIZE).order(ByteOrder.nativeOrder());
        this.localArray = Buffers.address(iovecs);
        this.remoteArray = localArray + (long) capacity * IOVEC_SIZE;
        this.keepAlive = new Object[capacity];
    }

    /** Adds an entry; {@code length} must be positive. */
    public IoVecBatch add(long localAddress, long remoteAddress, long length) {
        return add(localAddress, remoteAddress, length, null);
    }

    /** Adds an entry for {@code local}'s remaining bytes (a direct buffer, not empty). */
    public IoVecBatch add(ByteBuffer local, long remoteAddress) {
        return add(Buffers.address(local) + local.position(), remoteAddress, local.remaining(), local);
    }

    private IoVecBatch add(long localAddress, long remoteAddress, long length, Object owner) {
        if (length <= 0) {
            throw new IllegalArgumentException("iovec length must be positive, got " + length);
        }
        if (size == capacity) {
            throw new IllegalStateException("IoVecBatch full (" + capacity + " entries)");
        }
        if (totalLength + length < 0) {
            throw new IllegalArgumentException("batch length overflows");
        }
        int local = size * IOVEC_SIZE;
        int remote = (capacity + size) * IOVEC_SIZE;
        iovecs.putLong(local + BASE, localAddress).putLong(local + LEN, length);
        iovecs.putLong(remote + BASE, remoteAddress).putLong(remote + LEN, length);
        keepAlive[size] = owner;
        size++;
        totalLength += length;
        return this;
    }

    /** Empties the batch (and lets go of the buffers it held). */
    public IoVecBatch clear() {
        Arrays.fill(keepAlive, 0, size, null);
        size = 0;
        totalLength = 0;
        return this;
    }

    public int size() {
        return size;
    }

    public int capacity() {
        return capacity;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public boolean isFull() {
        return size == capacity;
    }

    /** The sum of all entries' lengths. */
    public long totalLength() {
        return totalLength;
    }

    public long localAddress(int i) {
        return iovecs.getLong(checkIndex(i) * IOVEC_SIZE + BASE);
    }

    public long remoteAddress(int i) {
        return iovecs.getLong((capacity + checkIndex(i)) * IOVEC_SIZE + BASE);
    }

    public long length(int i) {
        return iovecs.getLong(checkIndex(i) * IOVEC_SIZE + LEN);
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("entry " + i + " of " + size);
        }
        return i;
    }

    long localArray() {
        return localArray;
    }

    long remoteArray() {
        return remoteArray;
    }
}
