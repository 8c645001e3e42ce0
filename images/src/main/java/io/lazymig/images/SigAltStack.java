package io.lazymig.images;

/**
 * The thread's alternate signal stack, as sigaltstack(NULL, &old) reports it: base, size and
 * flags ({@link #SS_DISABLE} when there is none, {@link #SS_ONSTACK} while the thread runs on it,
 * {@link #SS_AUTODISARM} if it was registered so). CRIU's {@code thread_sas_entry}.
 */
public record SigAltStack(long sp, long size, int flags) {
    public static final int SS_ONSTACK = 1;
    public static final int SS_DISABLE = 2;
    public static final int SS_AUTODISARM = 1 << 31;
    /** No alternate stack: what a new thread has. */
    public static final SigAltStack DISABLED = new SigAltStack(0, 0, SS_DISABLE);

    public SigAltStack {
        if ((flags & ~(SS_ONSTACK | SS_DISABLE | SS_AUTODISARM)) != 0) {
            throw new IllegalArgumentException("sigaltstack flags 0x" + Integer.toHexString(flags)
                    + " beyond SS_ONSTACK|SS_DISABLE|SS_AUTODISARM");
        }
    }

    /** Whether a stack is registered (SS_DISABLE not set). */
    public boolean isEnabled() {
        return (flags & SS_DISABLE) == 0;
    }
}
