package io.lazymig.images;

/**
 * The thread's rseq registration (PTRACE_GET_RSEQ_CONFIGURATION): area address, size, signature and
 * the current critical-section pointer. {@link #NONE} when the thread has none.
 */
public record Rseq(long abiPointer, int abiSize, int signature, long csPointer) {
    public static final Rseq NONE = new Rseq(0, 0, 0, 0);

    public boolean isRegistered() {
        return abiPointer != 0;
    }
}
