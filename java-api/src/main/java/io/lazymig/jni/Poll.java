package io.lazymig.jni;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * poll(2) on several fds, in two forms:
 * <ul>
 * <li>{@link #poll(int[], short[], short[], int)}: plain arrays, for occasional waits;</li>
 * <li>an instance holding its {@code struct pollfd} array in a direct buffer, for a loop that
 *     polls the same fds again and again: {@link #set} once, then {@link #poll(int)} and
 *     {@link #revents} with no allocation and one JNI crossing per wait.</li>
 * </ul>
 * A negative fd is ignored by the kernel (its revents stay 0): a way to disable a slot.
 * POLLERR, POLLHUP and POLLNVAL are reported whether asked for or not. EINTR is retried with
 * the time left, so a timeout is never cut short by a signal.
 */
public final class Poll {
    static {
        NativeLibrary.load();
    }

    public static final short POLLIN = (short) constant("POLLIN");
    public static final short POLLPRI = (short) constant("POLLPRI");
    public static final short POLLOUT = (short) constant("POLLOUT");
    public static final short POLLERR = (short) constant("POLLERR");
    public static final short POLLHUP = (short) constant("POLLHUP");
    public static final short POLLNVAL = (short) constant("POLLNVAL");
    /** The peer shut down its writing side (stream sockets). */
    public static final short POLLRDHUP = (short) constant("POLLRDHUP");

    private static final int POLLFD_SIZE = (int) constant("POLLFD_SIZE");
    private static final int OFFSET_FD = (int) constant("OFFSET_FD");
    private static final int OFFSET_EVENTS = (int) constant("OFFSET_EVENTS");
    private static final int OFFSET_REVENTS = (int) constant("OFFSET_REVENTS");

    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());
    private static final VarHandle SHORTS = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.nativeOrder());

    private final ByteBuffer pollfds;
    private final long address;
    private final int size;

    /**
     * A reusable set of {@code size} slots, each initially disabled (fd -1). Not thread-safe: one
     * thread sets and polls it.
     */
    public Poll(int size) {
        if (size <= 0 || size > Integer.MAX_VALUE / POLLFD_SIZE) {
            throw new IllegalArgumentException("Poll: size must be > 0, got " + size);
        }
        this.size = size;
        this.pollfds = Buffers.allocatePageAligned(size * POLLFD_SIZE);
        this.address = Buffers.address(pollfds);
        for (int i = 0; i < size; i++) {
            set(i, -1, (short) 0);
        }
    }

    /**
     * poll(2) of {@code fds[i]} for {@code events[i]}; fills {@code revents[i]}. Returns the number
     * of fds with a non-zero revents, 0 on timeout. {@code timeoutMillis} &lt; 0 waits forever.
     */
    public static int poll(int[] fds, short[] events, short[] revents, int timeoutMillis) throws NativeException {
        if (fds == null || events == null || revents == null) {
            throw new IllegalArgumentException("poll: null array");
        }
        if (fds.length != events.length || fds.length != revents.length) {
            throw new IllegalArgumentException("poll: array lengths differ: fds " + fds.length + ", events "
                    + events.length + ", revents " + revents.length);
        }
        int rc = nativePollArrays(fds, events, revents, fds.length, timeoutMillis);
        if (rc < 0) {
            throw new NativeException("poll(" + fds.length + " fds, timeout " + timeoutMillis + " ms)", -rc);
        }
        return rc;
    }

    /** Number of slots. */
    public int size() {
        return size;
    }

    /** Slot {@code index} watches {@code fd} for {@code events}; fd -1 disables it. Clears its revents. */
    public void set(int index, int fd, short events) {
        int off = offset(index);
        INTS.set(pollfds, off + OFFSET_FD, fd);
        SHORTS.set(pollfds, off + OFFSET_EVENTS, events);
        SHORTS.set(pollfds, off + OFFSET_REVENTS, (short) 0);
    }

    /** The fd watched by slot {@code index}. */
    public int fd(int index) {
        return (int) INTS.get(pollfds, offset(index) + OFFSET_FD);
    }

    /**
     * poll(2) on all slots; returns the number with a non-zero {@link #revents}, 0 on timeout.
     * {@code timeoutMillis} &lt; 0 waits forever.
     */
    public int poll(int timeoutMillis) throws NativeException {
        int rc = nativePollAddress(address, size, timeoutMillis);
        if (rc < 0) {
            throw new NativeException("poll(" + size + " fds, timeout " + timeoutMillis + " ms)", -rc);
        }
        return rc;
    }

    /** The events the last {@link #poll(int)} reported for slot {@code index}. */
    public short revents(int index) {
        return (short) SHORTS.get(pollfds, offset(index) + OFFSET_REVENTS);
    }

    /** Whether the last poll reported any of {@code mask} for slot {@code index}. */
    public boolean ready(int index, short mask) {
        return (revents(index) & mask) != 0;
    }

    private int offset(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("poll slot " + index + " of " + size);
        }
        return index * POLLFD_SIZE;
    }

    private static native long constant(String name);

    private static native int nativePollAddress(long address, int n, int timeoutMillis);

    private static native int nativePollArrays(int[] fds, short[] events, short[] revents, int n, int timeoutMillis);
}
