package io.lazymig.jni;

/**
 * Pipes, paired with {@code lm_pipe.c}: a new pipe, the bytes in one pipe's buffer copied into
 * another without consuming them (tee(2): the pages are shared, the reader still reads them), the
 * buffer's size (F_GETPIPE_SZ / F_SETPIPE_SZ) and the bytes queued (FIONREAD).
 */
public final class Pipes {
    static {
        NativeLibrary.load();
    }

    /** tee(2) flag: do not block on either pipe. */
    public static final int SPLICE_F_NONBLOCK = (int) constant("SPLICE_F_NONBLOCK");
    /** The bytes a write(2) of at most this size puts into a pipe at once. */
    public static final int PIPE_BUF = (int) constant("PIPE_BUF");

    private Pipes() {
    }

    /** A read end and a write end, each owned by the caller. */
    public record Pair(FileDescriptor read, FileDescriptor write) implements AutoCloseable {
        @Override
        public void close() {
            read.close();
            write.close();
        }
    }

    /** pipe2(2) with O_CLOEXEC added to {@code flags}. */
    public static Pair create(int flags) throws NativeException {
        long rc = nativeCreate(flags);
        if (rc < 0) {
            NativeException.check("pipe2", (int) rc);
        }
        return new Pair(new FileDescriptor((int) rc), new FileDescriptor((int) (rc >>> 32)));
    }

    /**
     * tee(2): duplicates up to {@code len} bytes from the head of {@code in}'s buffer into {@code out},
     * leaving {@code in}'s untouched; the count duplicated, 0 when {@code in} is empty, or an
     * exception (EAGAIN with SPLICE_F_NONBLOCK when {@code out} is full).
     */
    public static long tee(FileDescriptor in, FileDescriptor out, long len, int flags) throws NativeException {
        long rc = nativeTee(in.fd(), out.fd(), len, flags);
        if (rc < 0) {
            NativeException.check("tee", (int) rc);
        }
        return rc;
    }

    /** The pipe's buffer size in bytes (F_GETPIPE_SZ). */
    public static int size(FileDescriptor fd) throws NativeException {
        return NativeException.check("fcntl(F_GETPIPE_SZ)", nativeGetSize(fd.fd()));
    }

    /** Sets the buffer size (rounded up by the kernel to a power-of-two number of pages); the size it got. */
    public static int setSize(FileDescriptor fd, int size) throws NativeException {
        return NativeException.check("fcntl(F_SETPIPE_SZ, " + size + ")", nativeSetSize(fd.fd(), size));
    }

    /** The bytes in the pipe's buffer (FIONREAD). */
    public static int queued(FileDescriptor fd) throws NativeException {
        return NativeException.check("ioctl(FIONREAD)", nativeQueued(fd.fd()));
    }

    private static native long constant(String name);

    private static native long nativeCreate(int flags);

    private static native long nativeTee(int in, int out, long len, int flags);

    private static native int nativeGetSize(int fd);

    private static native int nativeSetSize(int fd, int size);

    private static native int nativeQueued(int fd);
}
