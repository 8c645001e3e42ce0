package io.lazymig.lazyclient;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's one lock, with the fault path ahead of the background. Every thread takes it with
 * {@link #lock()}, which first says it is about to; a background copy takes it with
 * {@link #lockForBackground()}, only while no thread has said so. A fault then waits at most for the
 * one background piece in progress, never behind the rest of the background (measured before: waits
 * of up to 12 ms for the lock, the background copier re-taking it piece after piece and, at a lower
 * priority, preempted while holding it). A wait longer than {@link #LONG_WAIT_NANOS} is logged with
 * the thread that held the lock and for how long: the lock is on every fault's path.
 */
final class FaultFirstLock {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-pages");
    static final long LONG_WAIT_NANOS = 10_000_000L;

    private final OwnedLock lock = new OwnedLock();
    private final AtomicInteger waiting = new AtomicInteger();
    /** When the holder took the lock (System.nanoTime); written by the holder only. */
    private volatile long heldSince;

    /** Takes the lock ahead of any background copy waiting for it; returns the nanoseconds it waited (0: free). */
    long lock() {
        if (lock.tryLock()) {
            heldSince = System.nanoTime();
            return 0; // uncontended: one clock read
        }
        long t0 = System.nanoTime();
        Thread holder = lock.owner();
        long holderSince = heldSince;
        waiting.incrementAndGet();
        try {
            lock.lock();
        } finally {
            waiting.decrementAndGet();
        }
        long now = System.nanoTime();
        heldSince = now;
        long waited = now - t0;
        if (waited > LONG_WAIT_NANOS) {
            log.info("lazy-pages: {} waited {} ms for the daemon's lock, held by {} from {} ms before the wait",
                    Thread.currentThread().getName(), waited / 1_000_000, holder == null ? "a thread gone since" : holder.getName(),
                    holder == null ? 0 : (t0 - holderSince) / 1_000_000);
        }
        return waited;
    }

    /** Takes the lock for a background piece, once no other thread is about to take it. */
    void lockForBackground() {
        while (waiting.get() > 0) {
            Thread.yield(); // the other thread holds it for microseconds
        }
        lock.lock();
        heldSince = System.nanoTime();
    }

    void unlock() {
        lock.unlock();
    }

    /** A ReentrantLock that names its holder (for the long-wait line). */
    private static final class OwnedLock extends ReentrantLock {
        Thread owner() {
            return getOwner();
        }
    }
}
