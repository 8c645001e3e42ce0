package io.lazymig.lazyclient;

import java.util.Arrays;

/**
 * The threads of one process waiting on a missing page: one entry per fault message read (its
 * page and when it was read), until a fill of that page ends the wait (counted, with its latency,
 * whichever fetch brought the page: a fault's own, a background chunk's, a racing fill found there)
 * or a wake sends the thread to fault again (not counted: its next message begins a new wait).
 * Guarded by the daemon's lock, as the rest of {@link LazyProcess}.
 */
final class ThreadWaits {
    private long[] page = new long[16];
    private long[] since = new long[16];
    private int size;

    /** A thread waits on {@code at} (the page of a fault message read at {@code now}). */
    void started(long at, long now) {
        if (size == page.length) {
            page = Arrays.copyOf(page, size * 2);
            since = Arrays.copyOf(since, size * 2);
        }
        page[size] = at;
        since[size++] = now;
    }

    /**
     * The pages {@code [start, end)} are in at {@code now}: every wait on them ends, counted in
     * {@code stats}; returns the longest of them (0: none).
     */
    long ended(long start, long end, long now, Stats stats) {
        long longest = 0;
        for (int i = size - 1; i >= 0; i--) {
            if (page[i] >= start && page[i] < end) {
                long waited = now - since[i];
                stats.faultServed(waited);
                longest = Math.max(longest, waited);
                remove(i);
            }
        }
        return longest;
    }

    /** The threads waiting in {@code [start, end)} were woken to fault again. */
    void woken(long start, long end) {
        for (int i = size - 1; i >= 0; i--) {
            if (page[i] >= start && page[i] < end) {
                remove(i);
            }
        }
    }

    /** Waits not ended yet. */
    int size() {
        return size;
    }

    private void remove(int i) {
        page[i] = page[--size];
        since[i] = since[size];
    }
}
