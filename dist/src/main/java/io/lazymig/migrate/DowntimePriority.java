package io.lazymig.migrate;

import io.lazymig.jni.NativeException;
import io.lazymig.jni.ThreadScheduling;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The calling thread at a lower nice value ({@value #NICE}) while a migrated process stands still
 * on A, its old value back at {@link #close}: restore ping-pongs with its stub through ptrace, and
 * each of its hundreds of stops waits for a CPU; at nice 0 on a busy host (in make bench: B's
 * sender and page server, other builds) every one of them queued behind the other runnable
 * threads. Threads and processes the thread starts meanwhile inherit the value: the stub (restore's
 * SchedStep then sets each restored thread's own from its image, as it does from any stub's) and
 * the held images' writer, both on the way to the release. The guard's handover runs so too: the
 * agent waits for its acknowledgement before the release. Needs CAP_SYS_NICE; without it the
 * thread stays as it is.
 */
public final class DowntimePriority implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.agent");
    /** Weight 9548 against nice 0's 1024 (sched_prio_to_weight): ~9 of 10 turns of a contended CPU. */
    static final int NICE = -10;

    /** The thread's value before, or {@link Integer#MIN_VALUE} when it was not changed. */
    private int before = Integer.MIN_VALUE;

    private DowntimePriority() {
    }

    /** The calling thread at {@link #NICE} until {@link #close} (from the same thread). */
    public static DowntimePriority raise(String who) {
        DowntimePriority p = new DowntimePriority();
        try {
            int now = ThreadScheduling.get();
            if (now > NICE) {
                ThreadScheduling.set(NICE);
                p.before = now;
            }
        } catch (NativeException | LinkageError e) {
            log.debug("agent: {} at its own priority: {}", who, e.getMessage());
        }
        return p;
    }

    /** The thread's value before {@link #raise}; idempotent. */
    @Override
    public void close() {
        if (before == Integer.MIN_VALUE) {
            return;
        }
        try {
            ThreadScheduling.set(before);
        } catch (NativeException e) {
            log.debug("agent: the nice value {} not given back: {}", before, e.getMessage());
        }
        before = Integer.MIN_VALUE;
    }
}
