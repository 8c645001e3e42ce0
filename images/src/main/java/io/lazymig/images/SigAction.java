package io.lazymig.images;

/**
 * The action of one signal, as rt_sigaction's struct kernel_sigaction holds it: handler (SIG_DFL 0,
 * SIG_IGN 1 or an address), SA_* flags, sa_restorer and the 64-bit mask.
 */
public record SigAction(int signo, long handler, long flags, long restorer, long mask) {
    public static final int SIGKILL = 9;
    public static final int SIGSTOP = 19;
    /** Highest signal number on x86_64. */
    public static final int SIGMAX = 64;

    public SigAction {
        if (!isDumpable(signo)) {
            throw new IllegalArgumentException("signal " + signo + " has no action in an image (1.." + SIGMAX
                    + ", not SIGKILL or SIGSTOP)");
        }
    }

    /** Signals CRIU stores an action for, in this order: 1..64 except SIGKILL and SIGSTOP. */
    public static boolean isDumpable(int signo) {
        return signo >= 1 && signo <= SIGMAX && signo != SIGKILL && signo != SIGSTOP;
    }

    /** SIG_DFL with no flags, restorer or mask: what a fresh process has. */
    public boolean isDefault() {
        return handler == 0 && flags == 0 && restorer == 0 && mask == 0;
    }
}
