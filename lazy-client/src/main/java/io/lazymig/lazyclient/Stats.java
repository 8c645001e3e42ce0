package io.lazymig.lazyclient;

import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;

/**
 * What the daemon did: pages by how they came in (fault, fault-around, background), zero pages,
 * every wait of a thread on a missing page and its latency until the page is in, whichever fetch
 * brought it (HdrHistogram), bytes and durations, the wall-clock start and end (so a
 * benchmark can line them up with other hosts' clocks), pages in over time, and the daemon's peak
 * RSS; the figures of a progress line ({@link ProgressLine}) and a JSON summary for --stats-file.
 */
public final class Stats {
    enum Kind { FAULT, FAULT_AROUND, BACKGROUND }

    static final long PAGE = SystemInfo.PAGE_SIZE;
    /** Width of one step of the pages-in timeline. */
    static final long TIMELINE_STEP_MS = 20;
    /** The timeline stops growing here (10 minutes): a bound on its memory, not on the migration. */
    private static final int TIMELINE_MAX_STEPS = 30_000;

    private final long totalPages;
    /** Monotonic nanoseconds (System.nanoTime) and wall-clock milliseconds (System.currentTimeMillis). */
    private final LongSupplier nanoTime;
    private final LongSupplier epochMillis;
    private final long[] pages = new long[Kind.values().length];
    private final Histogram faultLatency = histogram();
    /** Fault fetches on the fault connection: asked for until read whole (the network and the source host). */
    private final Histogram faultReply = histogram();
    /** The same fetches: created (its fault message read, the lock taken) until sent. */
    private final Histogram faultAsk = histogram();
    /** The same fetches: read whole until the copy took the lock. */
    private final Histogram faultLock = histogram();
    /** The same fetches: the lock taken until copied in and the thread woken (UFFDIO_COPY). */
    private final Histogram faultCopy = histogram();
    /** The fault path's waits for the daemon's lock, each that found it taken. */
    private final Histogram lockWaits = histogram();

    /**
     * Nanoseconds up to an hour, 2 significant digits (under 1%: the percentiles are read to that):
     * 37 KiB of counts. With 3 digits each took 270 KiB; the six, 1.6 MiB allocated and zeroed as a
     * migration starts, cost a young collection inside its downtime.
     */
    private static Histogram histogram() {
        return new Histogram(3_600_000_000_000L, 2);
    }
    /**
     * The slowest faults' stages (the tail is what matters, and the percentiles mix its causes):
     * each [since the fault message, ask, reply, lock, copy] in us and when, in ms since the start.
     */
    private final long[][] slowest = new long[SLOWEST][];
    static final int SLOWEST = 12;
    private long zeroPages;
    /** Threads' waits on a missing page (every fault message), ended by whichever fetch brought it in. */
    private long faults;
    /** Fault messages read: waits begun (those woken to fault again, by a layout change, end uncounted). */
    private long faultMessages;
    /** Of the waits, those on a page a background chunk in flight already covered (asked for again at once). */
    private long faultsOnBackground;
    private long startNanos;
    private long endNanos;
    private long startEpochMs;
    private long endEpochMs;
    /** Per kind, the pages in by the end of each timeline step; -1 where nothing came in that step. */
    private final long[][] timeline = new long[Kind.values().length][];
    /** The last step anything came in, -1 before the first page. */
    private int lastStep = -1;

    public Stats(long totalPages) {
        this(totalPages, System::nanoTime, System::currentTimeMillis);
    }

    /** With the clocks given: tests drive time explicitly. */
    Stats(long totalPages, LongSupplier nanoTime, LongSupplier epochMillis) {
        this.totalPages = totalPages;
        this.nanoTime = nanoTime;
        this.epochMillis = epochMillis;
    }

    synchronized void started() {
        startNanos = nanoTime.getAsLong();
        startEpochMs = epochMillis.getAsLong();
    }

    synchronized void finished() {
        endNanos = nanoTime.getAsLong();
        endEpochMs = epochMillis.getAsLong();
    }

    synchronized void copied(Kind kind, long bytes, boolean includesFaultPage) {
        long n = bytes / PAGE;
        if (kind == Kind.FAULT) {
            pages[Kind.FAULT.ordinal()] += includesFaultPage ? 1 : 0;
            pages[Kind.FAULT_AROUND.ordinal()] += includesFaultPage ? n - 1 : n;
        } else {
            pages[kind.ordinal()] += n;
        }
        record(nanoTime.getAsLong());
    }

    private void record(long now) {
        long step = (now - startNanos) / (TIMELINE_STEP_MS * 1_000_000L);
        if (step < 0 || step >= TIMELINE_MAX_STEPS) {
            return;
        }
        int at = (int) step;
        int allocated = timeline[0] == null ? 0 : timeline[0].length;
        if (at >= allocated) {
            int size = Math.min(TIMELINE_MAX_STEPS, Math.max(at + 1, allocated * 2 + 64));
            for (int k = 0; k < timeline.length; k++) {
                long[] grown = timeline[k] == null ? new long[size] : Arrays.copyOf(timeline[k], size);
                Arrays.fill(grown, allocated, size, -1);
                timeline[k] = grown;
            }
        }
        for (int k = 0; k < timeline.length; k++) {
            timeline[k][at] = pages[k];
        }
        lastStep = Math.max(lastStep, at);
    }

    /** The kind's pages in by the end of each step up to the last step anything came in. */
    private String timelineJson(int kind) {
        StringBuilder b = new StringBuilder("[");
        long value = 0;
        for (int i = 0; i <= lastStep; i++) {
            value = timeline[kind][i] >= 0 ? timeline[kind][i] : value;
            b.append(i == 0 ? "" : ",").append(value);
        }
        return b.append(']').toString();
    }

    /** This process's peak resident set (VmHWM), in KiB; -1 where /proc does not tell. */
    static long peakRssKib() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/status"));
            for (String l : lines) {
                if (l.startsWith("VmHWM:")) {
                    return Long.parseLong(l.substring(6).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    synchronized void zeroPage() {
        zeroPages++;
    }

    /** A fault message read: a thread's wait begins. */
    synchronized void faultMessage() {
        faultMessages++;
    }

    synchronized void faultOnBackground() {
        faultsOnBackground++;
    }

    synchronized void faultServed(long nanos) {
        faults++;
        faultLatency.recordValue(Math.max(1, nanos));
    }

    /**
     * Where a fault's time went, for a fetch of a faulting page that came on the fault connection:
     * from asking to its pages read whole, and from there to copied in. What a wait has beyond
     * the two is this host's part before the asking (reading the fault message, the lock).
     */
    synchronized void faultStages(long sinceFaultNanos, long askNanos, long replyNanos, long lockNanos, long copyNanos) {
        faultAsk.recordValue(Math.max(1, askNanos));
        faultReply.recordValue(Math.max(1, replyNanos));
        faultLock.recordValue(Math.max(1, lockNanos));
        faultCopy.recordValue(Math.max(1, copyNanos));
        long[] stages = {sinceFaultNanos, askNanos, replyNanos, lockNanos, copyNanos, nanoTime.getAsLong() - startNanos};
        int min = 0;
        for (int i = 0; i < SLOWEST; i++) {
            if (slowest[i] == null) {
                slowest[i] = stages;
                return;
            }
            if (slowest[i][0] < slowest[min][0]) {
                min = i;
            }
        }
        if (slowest[min][0] < sinceFaultNanos) {
            slowest[min] = stages;
        }
    }

    /** A thread of the fault path waited {@code nanos} for the daemon's lock (0: it was free, not counted). */
    synchronized void lockWaited(long nanos) {
        if (nanos > 0) {
            lockWaits.recordValue(nanos);
        }
    }

    private String slowestJson() {
        StringBuilder b = new StringBuilder("[");
        Arrays.stream(slowest).filter(x -> x != null).sorted((x, y) -> Long.compare(y[0], x[0])).forEach(x -> {
            b.append(b.length() > 1 ? ", " : "").append('[');
            for (int i = 0; i < x.length; i++) {
                b.append(i == 0 ? "" : ", ").append(x[i] / (i == x.length - 1 ? 1_000_000 : 1000));
            }
            b.append(']');
        });
        return b.append(']').toString();
    }

    synchronized long pagesIn() {
        long sum = 0;
        for (long p : pages) {
            sum += p;
        }
        return sum;
    }

    /** What a progress line says, at this moment; null before the start. */
    synchronized Progress progress() {
        if (startNanos == 0) {
            return null;
        }
        long now = endNanos != 0 ? endNanos : nanoTime.getAsLong();
        return new Progress(pagesIn(), totalPages, faults, Math.max(1e-9, (now - startNanos) / 1e9));
    }

    /** The figures of one progress line. */
    record Progress(long pagesIn, long totalPages, long faults, double seconds) {
    }

    public synchronized String summary() {
        return String.format(Locale.ROOT, "%d pages (%d by fault, %d fault-around, %d background), %d zero pages, "
                + "%d faults, p50 %d us, p99 %d us, %.1f s", pagesIn(), pages[0], pages[1], pages[2], zeroPages, faults,
                faultLatency.getValueAtPercentile(50) / 1000, faultLatency.getValueAtPercentile(99) / 1000,
                (endNanos - startNanos) / 1e9);
    }

    /** The JSON written to --stats-file. */
    public synchronized String toJson() {
        double secs = (endNanos - startNanos) / 1e9;
        return String.format(Locale.ROOT, "{\n  \"pages_total\": %d,\n  \"pages_fault\": %d,\n  \"pages_fault_around\": %d,\n"
                + "  \"pages_background\": %d,\n  \"zero_pages\": %d,\n  \"faults\": %d,\n  \"fault_messages\": %d,\n  \"faults_on_background\": %d,\n"
                + "  \"bytes\": %d,\n"
                + "  \"duration_s\": %.6f,\n  \"start_epoch_ms\": %d,\n  \"end_epoch_ms\": %d,\n  \"peak_rss_kib\": %d,\n"
                + "  \"fault_latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"max\": %.1f},\n"
                + "  \"fault_ask_us\": %s,\n  \"fault_reply_us\": %s,\n  \"fault_lock_us\": %s,\n  \"fault_copy_us\": %s,\n"
                + "  \"lock_waits_us\": %s,\n  \"slowest_faults_us\": %s,\n"
                + "  \"timeline\": {\"step_ms\": %d, \"fault\": %s, \"fault_around\": %s, \"background\": %s}\n}\n",
                pagesIn(), pages[0], pages[1], pages[2], zeroPages, faults, faultMessages, faultsOnBackground, pagesIn() * PAGE, secs, startEpochMs,
                endEpochMs, peakRssKib(), faultLatency.getValueAtPercentile(50) / 1e3,
                faultLatency.getValueAtPercentile(90) / 1e3, faultLatency.getValueAtPercentile(99) / 1e3,
                faultLatency.getMaxValue() / 1e3, percentiles(faultAsk), percentiles(faultReply), percentiles(faultLock),
                percentiles(faultCopy), percentiles(lockWaits), slowestJson(), TIMELINE_STEP_MS, timelineJson(0), timelineJson(1), timelineJson(2));
    }

    private static String percentiles(Histogram h) {
        return String.format(Locale.ROOT, "{\"count\": %d, \"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f}", h.getTotalCount(),
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getMaxValue() / 1e3);
    }

    public void writeJson(Path file) throws IOException {
        Files.writeString(file, toJson());
    }
}
