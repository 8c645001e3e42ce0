package io.lazymig.jni;

/** This machine's page size and signal numbers, and the calling process's ids. */
public final class SystemInfo {
    static {
        NativeLibrary.load();
    }

    public static final long PAGE_SIZE = nativePageSize();
    public static final int SIGKILL = (int) constant("SIGKILL");
    public static final int SIGSTOP = (int) constant("SIGSTOP");
    public static final int SIGCONT = (int) constant("SIGCONT");
    public static final int SIGTRAP = (int) constant("SIGTRAP");
    public static final int SIGTERM = (int) constant("SIGTERM");
    public static final int SIGCHLD = (int) constant("SIGCHLD");
    public static final int SIGSEGV = (int) constant("SIGSEGV");
    public static final int SIGBUS = (int) constant("SIGBUS");
    public static final int SIGUSR1 = (int) constant("SIGUSR1");
    public static final int SIGUSR2 = (int) constant("SIGUSR2");
    public static final int SIGINT = (int) constant("SIGINT");
    public static final int SIGHUP = (int) constant("SIGHUP");
    public static final int SIGPIPE = (int) constant("SIGPIPE");
    public static final int SIGALRM = (int) constant("SIGALRM");
    /** One more than the highest signal number (65 on x86_64 Linux). */
    public static final int NSIG = (int) constant("NSIG");

    private SystemInfo() {
    }

    public static int getpid() {
        return nativeGetpid();
    }

    public static int gettid() {
        return nativeGettid();
    }

    /** kill(2); throws {@link NativeException} with the errno (ESRCH for a dead pid). */
    public static void kill(int pid, int signal) throws NativeException {
        if (pid <= 0) {
            throw new IllegalArgumentException("kill: refusing pid " + pid + " (process groups are never targeted)");
        }
        NativeException.check("kill(" + pid + ", " + signal + ")", nativeKill(pid, signal));
    }

    private static native long constant(String name);

    private static native long nativePageSize();

    private static native int nativeGetpid();

    private static native int nativeGettid();

    private static native int nativeKill(int pid, int sig);
}
