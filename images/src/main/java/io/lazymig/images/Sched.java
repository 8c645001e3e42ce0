package io.lazymig.images;

/**
 * The thread's scheduling: policy (SCHED_OTHER, SCHED_FIFO, ...), real-time priority (0 for the
 * non-real-time policies) and nice value (-20..19; kept for every policy, as the kernel keeps
 * it). CRIU's {@code thread_core_entry} sched_policy, sched_prio and sched_nice. The
 * SCHED_RESET_ON_FORK flag is not kept.
 */
public record Sched(int policy, int priority, int nice) {
    public static final int SCHED_OTHER = 0;
    public static final int SCHED_FIFO = 1;
    public static final int SCHED_RR = 2;
    public static final int SCHED_BATCH = 3;
    public static final int SCHED_IDLE = 5;
    public static final int SCHED_DEADLINE = 6;
    /** SCHED_OTHER at nice 0: what a process started by an ordinary parent has. */
    public static final Sched DEFAULT = new Sched(SCHED_OTHER, 0, 0);

    public Sched {
        if (policy != SCHED_OTHER && policy != SCHED_FIFO && policy != SCHED_RR && policy != SCHED_BATCH
                && policy != SCHED_IDLE) {
            throw new IllegalArgumentException("scheduling policy " + policy + " (SCHED_DEADLINE and unknown"
                    + " policies are not supported)");
        }
        boolean realTime = policy == SCHED_FIFO || policy == SCHED_RR;
        if (realTime ? priority < 1 || priority > 99 : priority != 0) {
            throw new IllegalArgumentException("priority " + priority + " for policy " + policy);
        }
        if (nice < -20 || nice > 19) {
            throw new IllegalArgumentException("nice " + nice + " outside -20..19");
        }
    }

    /** SCHED_FIFO or SCHED_RR. */
    public boolean isRealTime() {
        return policy == SCHED_FIFO || policy == SCHED_RR;
    }
}
