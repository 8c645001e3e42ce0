package io.lazymig.jni;

/**
 * A pidfd: a handle on one process that stays bound to it even if its pid is later reused.
 * Restore uses it to pull the userfaultfd out of the stub ({@link #getfd}) and to kill a
 * restored process without racing pid reuse ({@link #sendSignal}). The fd becomes readable
 * (POLLIN) when the process exits, so it can also be polled.
 */
public final class Pidfd implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    private final int pid;
    private final FileDescriptor fd;

    private Pidfd(int pid, FileDescriptor fd) {
        this.pid = pid;
        this.fd = fd;
    }

    /**
     * pidfd_open(pid, 0). The pidfd is close-on-exec (the kernel always sets it). A process
     * that does not exist is an {@code ESRCH} NativeException, e.g.
     * "pidfd_open(99999999): ESRCH (No such process)".
     */
    public static Pidfd open(int pid) throws NativeException {
        if (pid <= 0) {
            throw new IllegalArgumentException("pidfd_open: not a process id: " + pid);
        }
        int rc = nativeOpen(pid);
        return new Pidfd(pid, new FileDescriptor(NativeException.check("pidfd_open(" + pid + ")", rc)));
    }

    /** The pid this pidfd was opened for. */
    public int pid() {
        return pid;
    }

    /** The pidfd itself, still owned by this object (for poll; do not close it directly). */
    public FileDescriptor fd() {
        return fd;
    }

    /**
     * pidfd_getfd(pidfd, targetFd, 0): a duplicate, in this process, of the target's fd
     * {@code targetFd}; same open file description (offset, status flags), and close-on-exec
     * (the kernel always sets it). The caller owns the result. Needs ptrace-attach rights over
     * the target (PTRACE_MODE_ATTACH_REALCREDS): own process and same-user descendants
     * normally pass, others need CAP_SYS_PTRACE (EPERM). A target fd that is not open is
     * EBADF; a target that has exited is ESRCH, already as a zombie (its files are gone).
     */
    public FileDescriptor getfd(int targetFd) throws NativeException {
        if (targetFd < 0) {
            throw new IllegalArgumentException("pidfd_getfd: not a file descriptor: " + targetFd);
        }
        String call = "pidfd_getfd(pid " + pid + ", fd " + targetFd + ")";
        int rc = nativeGetfd(fd(call), targetFd);
        return new FileDescriptor(NativeException.check(call, rc));
    }

    /**
     * pidfd_send_signal(pidfd, sig, NULL, 0): signals exactly the process this pidfd was
     * opened for, never a later process that reused its pid. Signal 0 only checks that the
     * process still exists. As with kill(2), a zombie (exited, not yet reaped) still accepts
     * signals without effect; ESRCH once it has been reaped.
     */
    public void sendSignal(int sig) throws NativeException {
        if (sig < 0 || sig >= SystemInfo.NSIG) {
            throw new IllegalArgumentException("pidfd_send_signal: not a signal: " + sig);
        }
        String call = "pidfd_send_signal(pid " + pid + ", " + sig + ")";
        NativeException.check(call, nativeSendSignal(fd(call), sig));
    }

    public boolean isOpen() {
        return fd.isOpen();
    }

    /** Closes the pidfd once; the process is not affected. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "Pidfd(pid " + pid + ", " + fd + ")";
    }

    private int fd(String call) throws NativeException {
        if (!fd.isOpen()) {
            throw new NativeException(call + " on a closed pidfd", Errno.EBADF);
        }
        return fd.fd();
    }

    private static native int nativeOpen(int pid);

    private static native int nativeGetfd(int pidfd, int targetFd);

    private static native int nativeSendSignal(int pidfd, int sig);
}
