package io.lazymig.protocol;

import io.lazymig.jni.NativeException;
import io.lazymig.jni.ThreadScheduling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * How the threads that move pages between the hosts are scheduled, on both sides, where the CPUs
 * are contended (by the restored process, by other work, or on a test machine by both hosts).
 *
 * <p>The threads a fault goes through (the daemon's uffd reader, the fault connection's
 * receiver, the server's reader that answers faults) run under SCHED_FIFO at the lowest real-time
 * priority ({@link #FAULT_PRIORITY}): waking, they preempt whatever ordinary thread holds their CPU
 * at once. A short time slice of their own was not enough: a thread that has run a lot lately
 * (negative lag, as the fault path has under a stream of faults) is not eligible when it wakes,
 * so the JIT, a warm-up or the workload kept the CPU until the next tick, 4 ms at HZ=250 — the
 * tail of the fault latency (measured: p99 ~3 ms with the slice, ~0.45 ms FIFO). They only read a
 * request or a reply and hand it on, so they take little CPU; the kernel's real-time throttling
 * (95% of a CPU by default) bounds them all the same. Threads they start are ordinary ones
 * (SCHED_RESET_ON_FORK). Without the privilege (CAP_SYS_NICE) they fall back to the short
 * slice ({@link #FAULT_SLICE_NANOS}).
 *
 * <p>A thread that carries only background data runs under SCHED_IDLE ({@link Background}): any
 * other thread that wakes on its CPU — the fault path, the restored process's own threads —
 * preempts it at once. SCHED_IDLE alone would let a host whose CPUs are busy with other work
 * starve the background for as long as that lasts, so the thread watches the time it spent
 * waiting for a CPU: past {@link #STARVED_NANOS} within one check, it runs as an ordinary thread
 * at nice {@link #PROMOTED_NICE} for {@link #PROMOTED_NANOS} before it yields again.
 */
public final class TransferScheduling {
    /** The fault path's real-time priority: the lowest, above every ordinary thread and no other. */
    public static final int FAULT_PRIORITY = 1;
    /** The fault path's slice without the privilege for SCHED_FIFO: the kernel's smallest (it clamps to 0.1..100 ms). */
    public static final long FAULT_SLICE_NANOS = 100_000;
    /** Waiting this long for a CPU within one check means the background is starved. */
    static final long STARVED_NANOS = 200_000_000L;
    /** How long a starved background thread runs as an ordinary one. */
    static final long PROMOTED_NANOS = 5_000_000_000L;
    /** The starved background thread's nice value: still behind the fault path and the process. */
    static final int PROMOTED_NICE = 5;
    /** Checks are at least this far apart (each reads /proc/thread-self/schedstat). */
    static final long CHECK_EVERY_NANOS = 50_000_000L;

    private TransferScheduling() {
    }

    /** Puts the calling thread, one of a fault's path, under SCHED_FIFO, or else its short slice (saying why). */
    public static void faultPath(Logger log, String who) {
        try {
            ThreadScheduling.setFifo(FAULT_PRIORITY);
            return;
        } catch (NativeException | LinkageError e) {
            log.debug("{}: fault path not real-time ({}); a short slice instead", who, e.getMessage());
        }
        try {
            ThreadScheduling.setSlice(FAULT_SLICE_NANOS);
        } catch (NativeException | LinkageError e) {
            log.debug("{}: fault path at the default slice ({})", who, e.getMessage());
        }
    }

    /**
     * The calling thread's background scheduling: SCHED_IDLE from now on, with the starvation
     * rule above applied at each {@link Background#check()}. Owned by the calling thread alone.
     */
    public static Background background(Logger log, String who) {
        Background b = new Background(log, who, TransferScheduling::runQueueWaitNanos, System::nanoTime);
        b.yieldToOthers();
        return b;
    }

    /** The calling thread's total time spent runnable but waiting for a CPU, in ns (schedstat's second field). */
    static long runQueueWaitNanos() throws IOException {
        String s = Files.readString(Path.of("/proc/thread-self/schedstat")).trim();
        String[] f = s.split(" ");
        if (f.length < 2) {
            throw new IOException("unexpected /proc/thread-self/schedstat: " + s);
        }
        return Long.parseLong(f[1]);
    }

    /** Where a background thread reads its run-queue wait (the real one reads /proc). */
    @FunctionalInterface
    interface WaitClock {
        long waitedNanos() throws IOException;
    }

    /** One background thread's scheduling state; every method is called by that thread. */
    public static final class Background {
        private final Logger log;
        private final String who;
        private final WaitClock waits;
        private final LongSupplier clock;
        private boolean idle;
        private boolean watching = true;
        private long lastCheck;
        private long lastWait;
        private long promotedUntil;
        private int promotions;

        Background(Logger log, String who, WaitClock waits, LongSupplier clock) {
            this.log = log;
            this.who = who;
            this.waits = waits;
            this.clock = clock;
        }

        /** Whether the thread runs under SCHED_IDLE now. */
        public boolean idle() {
            return idle;
        }

        /** How many times it was found starved and ran as an ordinary thread for a while. */
        public int promotions() {
            return promotions;
        }

        /** After a unit of background work: applies the starvation rule (cheap when called often). */
        public void check() {
            if (!watching) {
                return;
            }
            long now = clock.getAsLong();
            if (now - lastCheck < CHECK_EVERY_NANOS) {
                return;
            }
            long wait;
            try {
                wait = waits.waitedNanos();
            } catch (IOException | RuntimeException e) {
                // without schedstat there is no starvation to see: ordinary priority, as before SCHED_IDLE
                log.debug("{}: no schedstat ({}); background at nice {}", who, e.getMessage(), PROMOTED_NICE);
                promote(now);
                watching = false;
                return;
            }
            long waited = wait - lastWait;
            lastWait = wait;
            lastCheck = now;
            if (idle && waited > STARVED_NANOS) {
                promotions++;
                log.info("{}: the background waited {} ms for a CPU; it runs at nice {} for {} s",
                        who, waited / 1_000_000, PROMOTED_NICE, PROMOTED_NANOS / 1_000_000_000L);
                promote(now);
            } else if (!idle && now - promotedUntil > 0) {
                yieldToOthers();
            }
        }

        void yieldToOthers() {
            try {
                ThreadScheduling.setIdle();
                idle = true;
                lastCheck = clock.getAsLong();
                lastWait = waits.waitedNanos();
            } catch (LinkageError | IOException | RuntimeException e) {
                log.debug("{}: background not under SCHED_IDLE ({}); at nice {}", who, e.getMessage(), PROMOTED_NICE);
                promote(clock.getAsLong());
                watching = false;
            }
        }

        private void promote(long now) {
            idle = false;
            promotedUntil = now + PROMOTED_NANOS;
            try {
                ThreadScheduling.setSlice(0);
                ThreadScheduling.set(PROMOTED_NICE);
            } catch (NativeException | LinkageError e) {
                log.debug("{}: background priority unchanged ({})", who, e.getMessage());
            }
        }
    }
}
