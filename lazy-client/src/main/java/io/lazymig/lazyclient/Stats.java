package io.lazymig.lazyclient;

import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * What the daemon did: pages by how they came in (fault, fault-around, background), zero pages,
 * fault service latency (HdrHistogram), bytes and durations; a progress line on a terminal and a
 * JSON summary for --stats-file.
 */
public final class Stats {
    enum Kind { FAULT, FAULT_AROUND, BACKGROUND }

    private static final long PAGE = SystemInfo.PAGE_SIZE;

    private final long totalPages;
    private final long[] pages = new long[Kind.values().length];
    private final Histogram faultLatency = new Histogram(3_600_000_000_000L, 3);
    private long zeroPages;
    private long faults;
    private long startNanos;
    private long endNanos;
    private PrintStream progress;
    private long lastProgressNanos;

    public Stats(long totalPages) {
        this.totalPages = totalPages;
    }

    /** Prints a progress line to {@code out} (a terminal) at most every 200 ms. */
    public void progressTo(PrintStream out) {
        this.progress = out;
    }

    synchronized void started() {
        startNanos = System.nanoTime();
    }

    synchronized void finished() {
        endNanos = System.nanoTime();
        if (progress != null) {
            printProgress(true);
        }
    }

    synchronized void copied(Kind kind, long bytes, boolean includesFaultPage) {
        long n = bytes / PAGE;
        if (kind == Kind.FAULT) {
            pages[Kind.FAULT.ordinal()] += includesFaultPage ? 1 : 0;
            pages[Kind.FAULT_AROUND.ordinal()] += includesFaultPage ? n - 1 : n;
        } else {
            pages[kind.ordinal()] += n;
        }
        if (progress != null && System.nanoTime() - lastProgressNanos > 200_000_000L) {
            printProgress(false);
        }
    }

    synchronized void zeroPage() {
        zeroPages++;
    }

    synchronized void faultServed(long nanos) {
        faults++;
        faultLatency.recordValue(Math.max(1, nanos));
    }

    synchronized long pagesIn() {
        long sum = 0;
        for (long p : pages) {
            sum += p;
        }
        return sum;
    }

    private void printProgress(boolean last) {
        lastProgressNanos = System.nanoTime();
        double secs = Math.max(1e-9, (lastProgressNanos - startNanos) / 1e9);
        long in = pagesIn();
        double mbps = in * PAGE / 1e6 / secs;
        long left = Math.max(0, totalPages - in);
        double eta = mbps > 0 ? left * PAGE / 1e6 / mbps : 0;
        progress.printf(Locale.ROOT, "\rlazy-pages: %d/%d pages, %.0f MB/s, %d faults served, ETA %.1f s%s", in,
                totalPages, mbps, faults, eta, last ? "\n" : "");
        progress.flush();
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
                + "  \"pages_background\": %d,\n  \"zero_pages\": %d,\n  \"faults\": %d,\n  \"bytes\": %d,\n"
                + "  \"duration_s\": %.6f,\n  \"fault_latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"max\": %.1f}\n}\n",
                pagesIn(), pages[0], pages[1], pages[2], zeroPages, faults, pagesIn() * PAGE, secs,
                faultLatency.getValueAtPercentile(50) / 1e3, faultLatency.getValueAtPercentile(90) / 1e3,
                faultLatency.getValueAtPercentile(99) / 1e3, faultLatency.getMaxValue() / 1e3);
    }

    public void writeJson(Path file) throws IOException {
        Files.writeString(file, toJson());
    }
}
