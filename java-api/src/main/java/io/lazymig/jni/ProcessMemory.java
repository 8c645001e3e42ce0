package io.lazymig.jni;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;

/**
 * Another process's memory, read and written without stopping it:
 * <ul>
 * <li>process_vm_readv/writev over an {@link IoVecBatch}: one JNI crossing per batch, one
 * syscall per {@link #IOV_MAX} entries, partial transfers continued where they stopped. It
 * honours page protections: writing a read-only page fails with EFAULT (KERNEL-FACTS §3.3).</li>
 * <li>pread/pwrite of /proc/PID/mem: with this kernel's PROC_MEM_ALWAYS_FORCE it also writes
 * read-only pages, and reads executable-only ones.</li>
 * </ul>
 * Both report a {@link Transfer}: the bytes done and, if it stopped early, the errno of the first
 * byte that could not be moved. The {@code read}/{@code write} shorthands throw instead.
 */
public final class ProcessMemory {
    static {
        NativeLibrary.load();
    }

    /** The most iovecs one process_vm_readv/writev accepts. */
    public static final int IOV_MAX = (int) constant("IOV_MAX");

    private ProcessMemory() {
    }

    /** The outcome of a transfer: {@code transferred} of {@code requested} bytes, then {@code errno} (0: none). */
    public record Transfer(String call, long requested, long transferred, int errno) {
        /** Everything was transferred. */
        public boolean complete() {
            return errno == 0 && transferred == requested;
        }

        /** Returns the bytes transferred when complete; else throws a NativeException that says how far it got. */
        public long check() throws NativeException {
            if (!complete()) {
                throw new NativeException(call + ": stopped after " + transferred + " of " + requested + " bytes",
                        errno != 0 ? errno : Errno.EIO);
            }
            return transferred;
        }
    }

    /** process_vm_readv of every entry of {@code batch} (remote → local). */
    public static Transfer readv(int pid, IoVecBatch batch) {
        return vm(pid, batch, false);
    }

    /** process_vm_writev of every entry of {@code batch} (local → remote). */
    public static Transfer writev(int pid, IoVecBatch batch) {
        return vm(pid, batch, true);
    }

    /** {@link #readv(int, IoVecBatch)} of parallel arrays: local[i] ← remote[i], lengths[i] bytes. */
    public static Transfer readv(int pid, long[] local, long[] remote, long[] lengths) {
        return vm(pid, batchOf(local, remote, lengths), false);
    }

    /** {@link #writev(int, IoVecBatch)} of parallel arrays: local[i] → remote[i], lengths[i] bytes. */
    public static Transfer writev(int pid, long[] local, long[] remote, long[] lengths) {
        return vm(pid, batchOf(local, remote, lengths), true);
    }

    /** Reads {@code dst.remaining()} bytes at {@code remoteAddress} of {@code pid} into {@code dst}, advancing it. */
    public static void read(int pid, long remoteAddress, ByteBuffer dst) throws NativeException {
        if (!dst.hasRemaining()) {
            return;
        }
        IoVecBatch batch = new IoVecBatch(1).add(dst, remoteAddress);
        dst.position(dst.position() + (int) readv(pid, batch).check());
    }

    /** Writes {@code src.remaining()} bytes of {@code src} to {@code remoteAddress} of {@code pid}, advancing it. */
    public static void write(int pid, long remoteAddress, ByteBuffer src) throws NativeException {
        if (!src.hasRemaining()) {
            return;
        }
        IoVecBatch batch = new IoVecBatch(1).add(src, remoteAddress);
        src.position(src.position() + (int) writev(pid, batch).check());
    }

    private static IoVecBatch batchOf(long[] local, long[] remote, long[] lengths) {
        if (local.length != remote.length || local.length != lengths.length) {
            throw new IllegalArgumentException("local, remote and lengths differ in length: " + local.length + ", "
                    + remote.length + ", " + lengths.length);
        }
        if (local.length == 0) {
            throw new IllegalArgumentException("no entries");
        }
        IoVecBatch batch = new IoVecBatch(local.length);
        for (int i = 0; i < local.length; i++) {
            batch.add(local[i], remote[i], lengths[i]);
        }
        return batch;
    }

    private static Transfer vm(int pid, IoVecBatch batch, boolean write) {
        checkPid(pid);
        if (batch.isEmpty()) {
            throw new IllegalArgumentException("empty IoVecBatch");
        }
        long[] result = new long[1];
        long done;
        try {
            done = nativeVmTransfer(pid, batch.localArray(), batch.remoteArray(), batch.size(), write, result);
        } finally {
            Reference.reachabilityFence(batch);
        }
        String call = (write ? "process_vm_writev(" : "process_vm_readv(") + pid + ", " + batch.size() + " iovecs)";
        return new Transfer(call, batch.totalLength(), done, (int) result[0]);
    }

    /** Opens /proc/PID/mem, read-only or read-write; the caller owns the fd. */
    public static FileDescriptor openMem(int pid, boolean writable) throws NativeException {
        checkPid(pid);
        return FileDescriptor.open("/proc/" + pid + "/mem", writable ? FileDescriptor.O_RDWR : FileDescriptor.O_RDONLY,
                0);
    }

    /** pread of {@code length} bytes at {@code remoteAddress} of an open /proc/PID/mem into {@code localAddress}. */
    public static Transfer preadMem(FileDescriptor mem, long remoteAddress, long localAddress, long length)
            throws NativeException {
        return file(mem, remoteAddress, localAddress, length, false);
    }

    /** pwrite of {@code length} bytes from {@code localAddress} to {@code remoteAddress} of an open /proc/PID/mem. */
    public static Transfer pwriteMem(FileDescriptor mem, long remoteAddress, long localAddress, long length)
            throws NativeException {
        return file(mem, remoteAddress, localAddress, length, true);
    }

    /** Reads {@code dst.remaining()} bytes at {@code remoteAddress} through /proc/PID/mem, advancing {@code dst}. */
    public static void readMem(FileDescriptor mem, long remoteAddress, ByteBuffer dst) throws NativeException {
        if (!dst.hasRemaining()) {
            return;
        }
        try {
            long n = preadMem(mem, remoteAddress, Buffers.address(dst) + dst.position(), dst.remaining()).check();
            dst.position(dst.position() + (int) n);
        } finally {
            Reference.reachabilityFence(dst);
        }
    }

    /** Writes {@code src.remaining()} bytes to {@code remoteAddress} through /proc/PID/mem, advancing {@code src}. */
    public static void writeMem(FileDescriptor mem, long remoteAddress, ByteBuffer src) throws NativeException {
        if (!src.hasRemaining()) {
            return;
        }
        try {
            long n = pwriteMem(mem, remoteAddress, Buffers.address(src) + src.position(), src.remaining()).check();
            src.position(src.position() + (int) n);
        } finally {
            Reference.reachabilityFence(src);
        }
    }

    private static Transfer file(FileDescriptor mem, long remoteAddress, long localAddress, long length, boolean write)
            throws NativeException {
        if (length <= 0) {
            throw new IllegalArgumentException("length must be positive, got " + length);
        }
        if (remoteAddress < 0) {
            throw new IllegalArgumentException("address 0x" + Long.toHexString(remoteAddress)
                    + " is beyond what a /proc/PID/mem offset can express");
        }
        int fd = mem.fd();
        long[] result = new long[1];
        long done = nativeFileTransfer(fd, localAddress, length, remoteAddress, write, result);
        String call = (write ? "pwrite(" : "pread(") + "/proc/PID/mem fd " + fd + ", 0x" + Long.toHexString(remoteAddress)
                + ")";
        return new Transfer(call, length, done, (int) result[0]);
    }

    private static void checkPid(int pid) {
        if (pid <= 0) {
            throw new IllegalArgumentException("not a process id: " + pid);
        }
    }

    /** iovec layout facts for IoVecBatch. */
    static long layout(String name) {
        return constant(name);
    }

    private static native long constant(String name);

    private static native long nativeVmTransfer(int pid, long localIovecs, long remoteIovecs, int count, boolean write,
            long[] result);

    private static native long nativeFileTransfer(int fd, long address, long length, long offset, boolean write,
            long[] result);
}
