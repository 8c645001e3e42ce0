package io.lazymig.lazyserver;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The server's direct buffers for page replies, {@value #SIZE} bytes each, lent to a session's
 * thread when it first answers with pages and given back when that thread ends. A buffer is made
 * only when none is free, so there are never more than the sessions served at once need (two each
 * at most), and a connection costs none of them before it is authenticated.
 */
final class PageBuffers {
    /** A reply's pages: the largest payload less its sub-header. */
    static final int SIZE = io.lazymig.protocol.Frame.MAX_PAYLOAD - io.lazymig.protocol.Messages.PAGES_HEADER;

    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    private int made;

    synchronized ByteBuffer take() {
        ByteBuffer b = free.poll();
        if (b == null) {
            made++;
            b = ByteBuffer.allocateDirect(SIZE);
        }
        return b.clear();
    }

    synchronized void give(ByteBuffer b) {
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

        ByteBuffer get() {
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
