package io.lazymig.lazyclient;

/**
 * A run of pages asked of the page source and not yet copied in. Its addresses follow the
 * process's layout changes (a remap moves it, an unmap drops it) while it is in flight.
 */
final class Fetch {
    final LazyProcess process;
    final Stats.Kind kind;
    /** The page a thread faulted on, or -1 (background and fault-around-only fetches). */
    long faultPage;
    long start;
    long end;
    final long source;
    boolean dropped;
    final long startNanos = System.nanoTime();

    Fetch(LazyProcess process, PendingPages.Run run, Stats.Kind kind, long faultPage) {
        this.process = process;
        this.kind = kind;
        this.faultPage = faultPage;
        this.start = run.start();
        this.end = run.end();
        this.source = run.source();
    }

    long length() {
        return end - start;
    }

    int pages(long pageSize) {
        return (int) (length() / pageSize);
    }

    /** Moves this fetch by {@code delta} (its whole range moved with a remap). */
    void shift(long delta) {
        start += delta;
        end += delta;
        if (faultPage >= 0) {
            faultPage += delta;
        }
    }

    void unmap(long s, long e) {
        if (start < e && s < end) {
            dropped = true;
        }
    }
}
