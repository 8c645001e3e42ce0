package io.lazymig.lazyclient;

/**
 * A run of pages asked of the page source and not yet copied in. Its addresses follow the
 * process's layout changes while it is in flight: a remap of all of it moves it; anything that
 * cuts into it (a remap of part of it, an unmap, a MADV_DONTNEED) gives its pages not yet copied
 * back to pending and drops it. Its mutable fields are guarded by the daemon's lock; what the page
 * source reads without it ({@link #process}, {@link #kind}, {@link #source}, {@link #length})
 * never changes.
 */
final class Fetch {
    final LazyProcess process;
    final Stats.Kind kind;
    /** The dump-time address of the first page: where the data is in the checkpoint. */
    final long source;
    /** Bytes asked for; the data arrives in this order whatever the fetch's address is by then. */
    final long length;
    final long startNanos = System.nanoTime();
    /** When the request went out (a fault's, for its stages); written by the sending thread. */
    volatile long sentNanos;
    /** The request's id on the wire and when its reply's header was read (for {@link FaultTimeline}). */
    volatile long id;
    long headerNanos;
    /** When the thread's wait on {@link #faultPage} began (its fault message read), or 0. */
    long waitSince;
    /** When the first copy of its data took the lock (a fault's, for its stages), or 0. */
    long lockedNanos;
    /** The page a thread faulted on, or -1 (background and fault-around-only fetches). */
    long faultPage;
    /** Where the first page is in the process now. */
    long start;
    /** Bytes from the start copied in (or found present, or found unmapped). */
    long done;
    /** The most the next UFFDIO_COPY asks for (halved while the kernel says ENOENT). */
    long piece = LazyPagesDaemon.COPY_PIECE;
    /** Cut into by a layout change: its pages not yet in went back to pending. */
    boolean dropped;
    /** Counted out of the in-flight bookkeeping (exactly once). */
    boolean finished;

    Fetch(LazyProcess process, PendingPages.Run run, Stats.Kind kind, long faultPage) {
        this.process = process;
        this.kind = kind;
        this.faultPage = faultPage;
        this.start = run.start();
        this.length = run.end() - run.start();
        this.source = run.source();
    }

    long end() {
        return start + length;
    }

    int pages(long pageSize) {
        return (int) (length / pageSize);
    }

    /** Whether {@code [s, e)} meets the part not yet copied in. */
    boolean overlapsRest(long s, long e) {
        return start + done < e && s < end();
    }

    /** Moves this fetch by {@code delta} (its whole range moved with a remap). */
    void shift(long delta) {
        start += delta;
        if (faultPage >= 0) {
            faultPage += delta;
        }
    }
}
