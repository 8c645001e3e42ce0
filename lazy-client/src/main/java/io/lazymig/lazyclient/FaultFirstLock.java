package io.lazymig.lazyclient;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The daemon's one lock, with the fault path ahead of the background. Every thread takes it with
 * {@link #lock()}, which first says it is about to; a background copy takes it with
 * {@link #lockForBackground()}, only while no thread has said so. A fault then waits at most for the
 * one background piece in progress, never behind the rest of the background (measured before: waits
 * of up to 12 ms for the lock, the background copier re-taking it piece after piece and, at a lower
 * priority, preempted while holding it).
 */
final class FaultFirstLock {
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger waiting = new AtomicInteger();

    /** Takes the lock ahead of any background copy waiting for it; returns the nanoseconds it waited (0: free). */
    long lock() {
        if (lock.tryLock()) {
            return 0; // uncontended: no clock read
        }
        long t0 = System.nanoTime();
        waiting.incrementAndGet();
        try {
            lock.lock();
        } finally {
            waiting.decrementAndGet();
        }
        return System.nanoTime() - t0;
    }

    /** Takes the lock for a background piece, once no other thread is about to take it. */
    void lockForBackground() {
        while (waiting.get() > 0) {
            Thread.yield(); // the other thread holds it for microseconds
        }
        lock.lock();
    }

    void unlock() {
        lock.unlock();
    }
}
