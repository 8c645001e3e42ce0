package io.lazymig.jni;

import java.io.IOException;

/** A failed system call: names the call and the errno, e.g. "UFFDIO_COPY: EINVAL (Invalid argument)". */
public final class NativeException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    public NativeException(String call, int errno) {
        super(call + ": " + Errno.name(errno) + " (" + Errno.text(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The call that failed, with enough context to find it ("ptrace(PTRACE_GETREGSET, 1234)"). */
    public String call() {
        return call;
    }

    /** The positive errno value. */
    public int errno() {
        return errno;
    }

    /** Returns {@code result} when it is {@code >= 0}; throws for a {@code -errno} result. */
    public static long check(String call, long result) throws NativeException {
        if (result < 0) {
            throw new NativeException(call, (int) -result);
        }
        return result;
    }

    /** Same as {@link #check(String, long)} for int results. */
    public static int check(String call, int result) throws NativeException {
        if (result < 0) {
            throw new NativeException(call, -result);
        }
        return result;
    }
}
