package io.lazymig.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.jni.ThreadScheduling;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class TransferSchedulingTest {
    private static final Logger log = LoggerFactory.getLogger("lazymig.test");
    private static final long MS = 1_000_000L;

    /** Runs {@code body} on a thread of its own (the scheduling calls act on the calling thread) and rethrows. */
    private static void onOwnThread(ThrowingRunnable body) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        t.join(30_000);
        assertFalse(t.isAlive(), "the test thread did not end");
        if (failure.get() instanceof Exception e) {
            throw e;
        }
        if (failure.get() instanceof Error e) {
            throw e;
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Real-time where the privilege allows it (root, as CI), else the shortest slice; never the default. */
    @Test
    void theFaultPathIsRealTimeOrGetsTheShortestSlice() throws Exception {
        boolean privileged = mayUseRealTime();
        onOwnThread(() -> {
            TransferScheduling.faultPath(log, "test");
            if (privileged) {
                assertEquals(ThreadScheduling.SCHED_FIFO, ThreadScheduling.policy());
            } else {
                assertEquals(ThreadScheduling.SCHED_OTHER, ThreadScheduling.policy());
                assertEquals(TransferScheduling.FAULT_SLICE_NANOS, ThreadScheduling.slice());
            }
        });
    }

    /** A thread the fault path starts (a reconnect's, a background one) is an ordinary thread, not real-time. */
    @Test
    void threadsTheFaultPathStartsAreOrdinary() throws Exception {
        onOwnThread(() -> {
            TransferScheduling.faultPath(log, "test");
            long[] policy = {-1};
            Thread child = new Thread(() -> {
                try {
                    policy[0] = ThreadScheduling.policy();
                } catch (Exception e) {
                    policy[0] = -2;
                }
            });
            child.start();
            child.join();
            assertEquals(ThreadScheduling.SCHED_OTHER, policy[0]);
        });
    }

    /** The background leaves the fault path's real-time policy for SCHED_IDLE (the first connection's receiver does). */
    @Test
    void aFaultPathThreadBecomesBackground() throws Exception {
        onOwnThread(() -> {
            TransferScheduling.faultPath(log, "test");
            TransferScheduling.Background b = TransferScheduling.background(log, "test");
            assertTrue(b.idle());
            assertEquals(ThreadScheduling.SCHED_IDLE, ThreadScheduling.policy());
        });
    }

    /** Whether this process may put a thread under SCHED_FIFO (its own probe thread, not the test's). */
    private static boolean mayUseRealTime() throws Exception {
        boolean[] ok = {false};
        onOwnThread(() -> {
            try {
                ThreadScheduling.setFifo(1);
                ok[0] = true;
            } catch (io.lazymig.jni.NativeException e) {
                ok[0] = false;
            }
        });
        return ok[0];
    }

    @Test
    void theBackgroundRunsUnderSchedIdleWhileItGetsACpu() throws Exception {
        onOwnThread(() -> {
            TransferScheduling.Background b = TransferScheduling.background(log, "test");
            assertTrue(b.idle());
            assertEquals(ThreadScheduling.SCHED_IDLE, ThreadScheduling.policy());
            for (int i = 0; i < 20; i++) {
                b.check();
            }
            assertEquals(ThreadScheduling.SCHED_IDLE, ThreadScheduling.policy());
        });
    }

    /** Starved (its run-queue wait grows past the limit within a check), it runs at nice 5 for a while, then yields again. */
    @Test
    void aStarvedBackgroundRunsAsAnOrdinaryThreadForAWhile() throws Exception {
        onOwnThread(() -> {
            AtomicLong now = new AtomicLong(1_000 * MS);
            AtomicLong waited = new AtomicLong();
            List<Integer> policies = new ArrayList<>();
            int nice = ThreadScheduling.get();
            TransferScheduling.Background b = new TransferScheduling.Background(log, "test", waited::get, now::get);
            b.yieldToOthers();
            policies.add(ThreadScheduling.policy());

            now.addAndGet(TransferScheduling.CHECK_EVERY_NANOS);
            waited.addAndGet(TransferScheduling.STARVED_NANOS / 2); // waited, not starved
            b.check();
            assertTrue(b.idle());

            now.addAndGet(TransferScheduling.CHECK_EVERY_NANOS);
            waited.addAndGet(TransferScheduling.STARVED_NANOS + MS);
            b.check();
            assertFalse(b.idle());
            assertEquals(1, b.promotions());
            policies.add(ThreadScheduling.policy());
            assertEquals(TransferScheduling.PROMOTED_NICE, ThreadScheduling.get());

            now.addAndGet(TransferScheduling.PROMOTED_NANOS / 2); // still within its time as an ordinary thread
            b.check();
            assertFalse(b.idle());

            now.addAndGet(TransferScheduling.PROMOTED_NANOS);
            b.check();
            assertTrue(b.idle());
            policies.add(ThreadScheduling.policy());
            assertEquals(List.of(ThreadScheduling.SCHED_IDLE, ThreadScheduling.SCHED_OTHER, ThreadScheduling.SCHED_IDLE), policies);
            assertTrue(nice <= TransferScheduling.PROMOTED_NICE);
        });
    }

    /** Checks closer together than CHECK_EVERY_NANOS read nothing: a busy loop's checks cost nothing. */
    @Test
    void checksCloseTogetherReadNothing() throws Exception {
        onOwnThread(() -> {
            AtomicLong now = new AtomicLong(1_000 * MS);
            AtomicLong reads = new AtomicLong();
            TransferScheduling.Background b = new TransferScheduling.Background(log, "test",
                    () -> {
                        reads.incrementAndGet();
                        return 0;
                    }, now::get);
            b.yieldToOthers();
            long before = reads.get();
            for (int i = 0; i < 100; i++) {
                now.addAndGet(TransferScheduling.CHECK_EVERY_NANOS / 100);
                b.check();
            }
            assertTrue(reads.get() - before <= 1, "read " + (reads.get() - before) + " times");
        });
    }
}
