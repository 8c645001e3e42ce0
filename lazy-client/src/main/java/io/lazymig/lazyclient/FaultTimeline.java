package io.lazymig.lazyclient;

import java.util.Arrays;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At debug level (-v 4): the stages of the first {@value #ROWS} fetches that come back on the
 * fault connection (a migration's first bursts of faults), logged once in one block: per fetch its
 * id, kind and pages, and in us from the first fault message read, when its fault message was read,
 * when it was created, sent, its reply's header read, its pages read whole, the lock taken and the
 * copy done. Times are System.nanoTime (CLOCK_MONOTONIC): on one machine the lazy server's line
 * of the same ids ("base" in us, absolute) lines up with it. The percentiles of stats.json mix
 * every fault; this says where a burst's waits queue.
 */
final class FaultTimeline {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-pages");
    static final int ROWS = 96;

    private final boolean on = log.isDebugEnabled();
    private final long[][] rows = new long[ROWS][];
    private int count;
    private boolean logged;
    /** The uffd reader's first batches with faults: when read, how many fault messages. */
    private final long[][] batches = new long[ROWS][];
    private int batchCount;

    /** Waits of more than {@link #LONG_WAIT_NANOS}: when they ended, how long, the fetch that ended them. */
    static final long LONG_WAIT_NANOS = 2_000_000;
    private final StringBuilder longWaits = new StringBuilder();
    private int longWaitCount;

    /** A copy of {@code f} ended waits, the longest {@code waited} ns. Under the daemon's lock. */
    void longWait(long now, long waited, Fetch f) {
        if (!on || waited < LONG_WAIT_NANOS) {
            return;
        }
        synchronized (this) {
            if (longWaitCount++ < 200) {
                longWaits.append(String.format(Locale.ROOT, " %d:%d:%s#%d(%dp,sent %d)", now / 1000, waited / 1000, f.kind,
                        f.id, f.length / Stats.PAGE, f.sentNanos == 0 ? -1 : (now - f.sentNanos) / 1000));
            }
        }
    }

    /** Logs the long waits (once, at the end). */
    void flushLongWaits() {
        if (!on || longWaitCount == 0) {
            return;
        }
        String s;
        synchronized (this) {
            s = longWaits.toString();
        }
        log.debug("lazy-pages: {} waits over {} us, the longest of each copy (ended at us absolute:waited us:fetch(pages, "
                + "sent us before)):{}", longWaitCount, LONG_WAIT_NANOS / 1000, s);
    }

    /** The uffd reader read {@code faults} fault messages in one batch at {@code when}. */
    void batch(long when, int faults) {
        if (!on || faults == 0) {
            return;
        }
        synchronized (this) {
            if (!logged && batchCount < ROWS) {
                batches[batchCount++] = new long[] {when, faults};
            }
        }
    }

    /** A fetch of the fault connection was read whole ({@code header}, {@code read}) and copied in by now. */
    void add(long id, Fetch f, long header, long read) {
        if (!on) {
            return;
        }
        long now = System.nanoTime();
        long[] row = {id, f.kind.ordinal(), f.length / Stats.PAGE, f.waitSince, f.startNanos, f.sentNanos, header, read,
            f.lockedNanos, now};
        synchronized (this) {
            if (logged || count >= ROWS) {
                return;
            }
            rows[count++] = row;
            if (count < ROWS) {
                return;
            }
        }
        flush();
    }

    /** Logs what is recorded (once): when full, or at the end of a daemon with fewer fetches. */
    void flush() {
        long[][] taken;
        synchronized (this) {
            if (!on || logged || count == 0) {
                return;
            }
            taken = Arrays.copyOf(rows, count);
            logged = true; // nothing more is recorded
        }
        long base = Long.MAX_VALUE;
        for (long[] r : taken) {
            base = Math.min(base, r[3] != 0 ? r[3] : r[4]);
        }
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "lazy-pages: the first %d fetches of the fault connection, in us from base %d us (absolute): "
                + "id kind pages | message created sent header read locked copied", taken.length, base / 1000));
        for (long[] r : taken) {
            b.append(String.format(Locale.ROOT, "%n  %d %s %d | %s %s %s %s %s %s %s", r[0],
                    Stats.Kind.values()[(int) r[1]], r[2], at(r[3], base), at(r[4], base), at(r[5], base), at(r[6], base),
                    at(r[7], base), at(r[8], base), at(r[9], base)));
        }
        b.append("\n  uffd batches (at us: fault messages):");
        synchronized (this) {
            for (int i = 0; i < batchCount; i++) {
                b.append(' ').append((batches[i][0] - base) / 1000).append(':').append(batches[i][1]);
            }
        }
        log.debug(b.toString());
    }

    private static String at(long nanos, long base) {
        return nanos == 0 ? "-" : Long.toString((nanos - base) / 1000);
    }
}
