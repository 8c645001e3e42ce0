package io.lazymig.lazyclient;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The daemon's progress line, every {@link #EVERY_NANOS}, written by a thread of its own. It was
 * written by whichever thread copied pages in, under the daemon's lock: a write that blocks (a
 * terminal, a full pipe, or the agent's relay over the network to migrate) then held up every
 * fault behind it.
 */
final class ProgressLine implements AutoCloseable {
    static final long EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private final Stats stats;
    private final PrintStream out;
    private final Thread thread;
    private volatile boolean stopping;

    private ProgressLine(Stats stats, PrintStream out) {
        this.stats = stats;
        this.out = out;
        this.thread = new Thread(this::run, "lazy-pages progress");
        thread.setDaemon(true);
    }

    /** Starts printing {@code stats}' progress to {@code out} (null: no line, returns null). */
    static ProgressLine start(Stats stats, PrintStream out) {
        if (out == null) {
            return null;
        }
        ProgressLine p = new ProgressLine(stats, out);
        p.thread.start();
        return p;
    }

    private void run() {
        while (!stopping) {
            LockSupport.parkNanos(EVERY_NANOS);
            if (!stopping) {
                print(false);
            }
        }
    }

    private void print(boolean last) {
        Stats.Progress p = stats.progress();
        if (p == null) {
            return;
        }
        double mbps = p.pagesIn() * Stats.PAGE / 1e6 / p.seconds();
        long left = Math.max(0, p.totalPages() - p.pagesIn());
        double eta = mbps > 0 ? left * Stats.PAGE / 1e6 / mbps : 0;
        out.printf(Locale.ROOT, "\rlazy-pages: %d/%d pages, %.0f MB/s, %d faults served, ETA %.1f s%s", p.pagesIn(),
                p.totalPages(), mbps, p.faults(), eta, last ? "\n" : "");
        out.flush();
    }

    /** Stops the thread and prints the last line (the final figures once the daemon finished). */
    @Override
    public void close() {
        stopping = true;
        LockSupport.unpark(thread);
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        print(true);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
