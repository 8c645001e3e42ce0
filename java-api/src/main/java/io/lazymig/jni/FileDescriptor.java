package io.lazymig.jni;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An owned file descriptor. {@link #close()} is idempotent and safe from any thread: the
 * first call closes the fd, later calls do nothing. Every fd the java-api hands out is one of
 * these, and whoever holds it owns it (must close it).
 */
public final class FileDescriptor implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    public static final int O_RDONLY = (int) constant("O_RDONLY");
    public static final int O_WRONLY = (int) constant("O_WRONLY");
    public static final int O_RDWR = (int) constant("O_RDWR");
    public static final int O_CREAT = (int) constant("O_CREAT");
    public static final int O_TRUNC = (int) constant("O_TRUNC");
    public static final int O_APPEND = (int) constant("O_APPEND");
    public static final int O_EXCL = (int) constant("O_EXCL");
    public static final int O_CLOEXEC = (int) constant("O_CLOEXEC");
    public static final int O_NONBLOCK = (int) constant("O_NONBLOCK");
    public static final int O_LARGEFILE = (int) constant("O_LARGEFILE");
    public static final int O_DIRECTORY = (int) constant("O_DIRECTORY");
    public static final int O_NOFOLLOW = (int) constant("O_NOFOLLOW");
    public static final int O_PATH = (int) constant("O_PATH");
    public static final int O_ACCMODE = (int) constant("O_ACCMODE");
    public static final int SEEK_SET = (int) constant("SEEK_SET");
    public static final int SEEK_CUR = (int) constant("SEEK_CUR");
    public static final int SEEK_END = (int) constant("SEEK_END");

    private static final int CLOSED = -1;

    /** The fd number, or CLOSED once closed. */
    private final AtomicInteger fd;

    /** Takes ownership of {@code fd}. */
    public FileDescriptor(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        this.fd = new AtomicInteger(fd);
    }

    /** open(2) with O_CLOEXEC added. */
    public static FileDescriptor open(String path, int flags, int mode) throws NativeException {
        int rc = nativeOpen(path, flags | O_CLOEXEC, mode);
        return new FileDescriptor(NativeException.check("open(" + path + ")", rc));
    }

    /** The fd number; throws {@link NativeException} (EBADF) once closed. */
    public int fd() throws NativeException {
        int v = fd.get();
        if (v == CLOSED) {
            throw new NativeException("fd (already closed)", Errno.EBADF);
        }
        return v;
    }

    public boolean isOpen() {
        return fd.get() != CLOSED;
    }

    /** A new close-on-exec descriptor for the same open file. */
    public FileDescriptor dup() throws NativeException {
        int f = fd();
        return new FileDescriptor(NativeException.check("fcntl(" + f + ", F_DUPFD_CLOEXEC)", nativeDup(f)));
    }

    /** read(2) into {@code buf}'s remaining space (direct buffers only); returns bytes read, 0 at EOF. */
    public int read(ByteBuffer buf) throws NativeException {
        int f = fd();
        long n = NativeException.check("read(" + f + ")",
                nativeRead(f, Buffers.address(buf) + buf.position(), buf.remaining()));
        buf.position(buf.position() + (int) n);
        return (int) n;
    }

    /** write(2) of {@code buf}'s remaining bytes (direct buffers only); returns bytes written. */
    public int write(ByteBuffer buf) throws NativeException {
        int f = fd();
        long n = NativeException.check("write(" + f + ")",
                nativeWrite(f, Buffers.address(buf) + buf.position(), buf.remaining()));
        buf.position(buf.position() + (int) n);
        return (int) n;
    }

    /** pread(2) of {@code len} bytes at {@code address}; returns bytes read. */
    public long pread(long address, long len, long offset) throws NativeException {
        int f = fd();
        return NativeException.check("pread(" + f + ", offset " + offset + ")", nativePread(f, address, len, offset));
    }

    /** pwrite(2) of {@code len} bytes from {@code address}; returns bytes written. */
    public long pwrite(long address, long len, long offset) throws NativeException {
        int f = fd();
        return NativeException.check("pwrite(" + f + ", offset " + offset + ")", nativePwrite(f, address, len, offset));
    }

    /** fcntl(F_GETFL). */
    public int statusFlags() throws NativeException {
        int f = fd();
        return NativeException.check("fcntl(" + f + ", F_GETFL)", nativeGetFlags(f));
    }

    /** fcntl(F_SETFL). */
    public void setStatusFlags(int flags) throws NativeException {
        int f = fd();
        NativeException.check("fcntl(" + f + ", F_SETFL)", nativeSetFlags(f, flags));
    }

    /** Closes the fd once; later calls do nothing. */
    @Override
    public void close() {
        int v = fd.getAndSet(CLOSED);
        if (v != CLOSED) {
            nativeClose(v);
        }
    }

    @Override
    public String toString() {
        int v = fd.get();
        return v == CLOSED ? "fd(closed)" : "fd(" + v + ")";
    }

    private static native long constant(String name);

    private static native int nativeOpen(String path, int flags, int mode);

    private static native int nativeClose(int fd);

    private static native int nativeDup(int fd);

    private static native long nativeRead(int fd, long address, long len);

    private static native long nativeWrite(int fd, long address, long len);

    private static native long nativePread(int fd, long address, long len, long offset);

    private static native long nativePwrite(int fd, long address, long len, long offset);

    private static native int nativeGetFlags(int fd);

    private static native int nativeSetFlags(int fd, int flags);
}
