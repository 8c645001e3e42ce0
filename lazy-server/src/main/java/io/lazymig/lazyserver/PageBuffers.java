package io.lazymig.lazyserver;

import io.lazymig.jni.Memory;
import io.lazymig.jni.NativeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The server's direct buffers for page replies, {@value #SIZE} bytes each, lent to a session's
 * thread when it first answers with pages and given back when that thread ends. A buffer is made
 * only when none is free, so there are never more than the sessions served at once need (two each
 * at most), and a connection costs none of them before it is authenticated. Each is an anonymous
 * mapping of its own (not populated until used, unlike {@code allocateDirect}, which zeroes), and
 * its pages are dropped (MADV_DONTNEED) when it is given back: a buffer nobody uses costs address
 * space, not memory. They are never unmapped (a view of unmapped memory would crash the JVM).
 */
final class PageBuffers {
    /** A reply's pages: the largest payload less its sub-header. */
    static final int SIZE = io.lazymig.protocol.Frame.MAX_PAYLOAD - io.lazymig.protocol.Messages.PAGES_HEADER;

    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    private final Map<ByteBuffer, Long> addresses = new IdentityHashMap<>();
    private int made;

    synchronized ByteBuffer take() throws IOException {
        ByteBuffer b = free.poll();
        if (b == null) {
            long address = Memory.mapAnonymous(SIZE);
            b = Memory.view(address, SIZE);
            addresses.put(b, address);
            made++;
        }
        return b.clear();
    }

    synchronized void give(ByteBuffer b) {
        try {
            Memory.advise(addresses.get(b), SIZE, Memory.MADV_DONTNEED);
        } catch (NativeException e) {
            // the pages stay resident: only memory is lost, and only until the buffer is used again
        }
        free.push(b);
    }

    /** Buffers made so far (the most ever lent at once). */
    synchronized int made() {
        return made;
    }

    /**
     * One thread's buffer: taken on first use, given back by {@link #release()}, which the same
     * thread calls when it is done with it.
     */
    static final class Slot {
        private final PageBuffers pool;
        private ByteBuffer buffer;

        Slot(PageBuffers pool) {
            this.pool = pool;
        }

        ByteBuffer get() throws IOException {
            if (buffer == null) {
                buffer = pool.take();
            }
            return buffer;
        }

        void release() {
            if (buffer != null) {
                pool.give(buffer);
                buffer = null;
            }
        }
    }
}
