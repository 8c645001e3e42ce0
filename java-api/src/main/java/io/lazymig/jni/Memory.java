package io.lazymig.jni;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * This process's own address space: mmap, munmap, mremap, mprotect, madvise, and a direct
 * {@link ByteBuffer} view of an address range. Fresh anonymous memory from
 * {@link #mapAnonymous} is not populated yet, unlike {@code ByteBuffer.allocateDirect}, which
 * zeroes (touches) what it allocates; so it can be registered with a userfaultfd.
 *
 * <p>Addresses are plain {@code long}s; nothing here tracks ownership. A view used after its
 * memory is unmapped crashes the JVM: unmap only when no view is in use.
 */
public final class Memory {
    static {
        NativeLibrary.load();
    }

    public static final int PROT_NONE = (int) constant("PROT_NONE");
    public static final int PROT_READ = (int) constant("PROT_READ");
    public static final int PROT_WRITE = (int) constant("PROT_WRITE");
    public static final int PROT_EXEC = (int) constant("PROT_EXEC");
    public static final int MAP_SHARED = (int) constant("MAP_SHARED");
    public static final int MAP_PRIVATE = (int) constant("MAP_PRIVATE");
    public static final int MAP_ANONYMOUS = (int) constant("MAP_ANONYMOUS");
    public static final int MAP_FIXED = (int) constant("MAP_FIXED");
    public static final int MAP_FIXED_NOREPLACE = (int) constant("MAP_FIXED_NOREPLACE");
    public static final int MAP_NORESERVE = (int) constant("MAP_NORESERVE");
    public static final int MAP_POPULATE = (int) constant("MAP_POPULATE");
    public static final int MAP_GROWSDOWN = (int) constant("MAP_GROWSDOWN");
    public static final int MREMAP_MAYMOVE = (int) constant("MREMAP_MAYMOVE");
    public static final int MREMAP_FIXED = (int) constant("MREMAP_FIXED");
    public static final int MADV_NORMAL = (int) constant("MADV_NORMAL");
    public static final int MADV_WILLNEED = (int) constant("MADV_WILLNEED");
    public static final int MADV_DONTNEED = (int) constant("MADV_DONTNEED");
    public static final int MADV_REMOVE = (int) constant("MADV_REMOVE");
    public static final int MADV_HUGEPAGE = (int) constant("MADV_HUGEPAGE");
    public static final int MADV_NOHUGEPAGE = (int) constant("MADV_NOHUGEPAGE");
    public static final int MADV_SEQUENTIAL = (int) constant("MADV_SEQUENTIAL");
    public static final int MADV_RANDOM = (int) constant("MADV_RANDOM");
    public static final int MADV_DONTFORK = (int) constant("MADV_DONTFORK");
    public static final int MADV_DONTDUMP = (int) constant("MADV_DONTDUMP");
    public static final int MADV_MERGEABLE = (int) constant("MADV_MERGEABLE");
    public static final int MADV_WIPEONFORK = (int) constant("MADV_WIPEONFORK");
    public static final int MADV_POPULATE_READ = (int) constant("MADV_POPULATE_READ");
    public static final int MADV_POPULATE_WRITE = (int) constant("MADV_POPULATE_WRITE");

    private static final long PAGE = SystemInfo.PAGE_SIZE;

    private Memory() {
    }

    /**
     * mmap(2); returns the mapping's address. {@code fd} null means -1 (anonymous mappings).
     * Without MAP_FIXED* the address is only a hint (0 lets the kernel choose).
     */
    public static long map(long address, long len, int prot, int flags, FileDescriptor fd, long offset)
            throws NativeException {
        checkLength("mmap", address, len);
        int f = fd == null ? -1 : fd.fd();
        return NativeException.check(call("mmap", address, len) + " prot=0x" + Integer.toHexString(prot) + " flags=0x"
                + Integer.toHexString(flags), nativeMmap(address, len, prot, flags, f, offset));
    }

    /** A fresh private anonymous read/write mapping of {@code len} bytes (rounded up to pages), not populated. */
    public static long mapAnonymous(long len) throws NativeException {
        return map(0, roundUp(len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, null, 0);
    }

    public static void unmap(long address, long len) throws NativeException {
        checkRange("munmap", address, len);
        NativeException.check(call("munmap", address, len), nativeMunmap(address, len));
    }

    /** mremap(2); returns the new address. {@code newAddress} is used only with {@link #MREMAP_FIXED}. */
    public static long remap(long oldAddress, long oldLen, long newLen, int flags, long newAddress)
            throws NativeException {
        checkRange("mremap", oldAddress, oldLen);
        checkLength("mremap", newAddress, newLen);
        return NativeException.check(call("mremap", oldAddress, oldLen) + " to 0x" + Long.toHexString(newAddress)
                + ", " + newLen, nativeMremap(oldAddress, oldLen, newLen, flags, newAddress));
    }

    public static void protect(long address, long len, int prot) throws NativeException {
        checkRange("mprotect", address, len);
        NativeException.check(call("mprotect", address, len) + " prot=0x" + Integer.toHexString(prot),
                nativeMprotect(address, len, prot));
    }

    /** madvise(2), e.g. {@link #MADV_DONTNEED} to drop pages (anonymous ones read back as zeros). */
    public static void advise(long address, long len, int advice) throws NativeException {
        checkRange("madvise", address, len);
        NativeException.check(call("madvise", address, len) + " advice=" + advice, nativeMadvise(address, len, advice));
    }

    /**
     * A direct buffer (native order) over {@code [address, address+len)}; it does not own the memory.
     * Reading a page of a uffd-registered range through it from Java blocks this thread in the
     * fault while it is in Java code, which stalls every JVM safepoint: only read served pages.
     */
    public static ByteBuffer view(long address, int len) {
        if (address == 0 || len < 0) {
            throw new IllegalArgumentException("view: bad range 0x" + Long.toHexString(address) + ", " + len);
        }
        return nativeView(address, len).order(ByteOrder.nativeOrder());
    }

    private static long roundUp(long len) {
        if (len <= 0 || len > Long.MAX_VALUE - PAGE) {
            throw new IllegalArgumentException("bad mapping length " + len);
        }
        return (len + PAGE - 1) & -PAGE;
    }

    private static String call(String op, long address, long len) {
        return op + "(0x" + Long.toHexString(address) + ", " + len + ")";
    }

    private static void checkLength(String op, long address, long len) {
        if (len <= 0) {
            throw new IllegalArgumentException(call(op, address, len) + ": length must be > 0");
        }
    }

    private static void checkRange(String op, long address, long len) {
        checkLength(op, address, len);
        if ((address & (PAGE - 1)) != 0) {
            throw new IllegalArgumentException(call(op, address, len) + ": address must be page-aligned");
        }
        if (Long.compareUnsigned(address + len, address) < 0) {
            throw new IllegalArgumentException(call(op, address, len) + ": range wraps around the address space");
        }
    }

    private static native long constant(String name);

    private static native long nativeMmap(long address, long len, int prot, int flags, int fd, long offset);

    private static native int nativeMunmap(long address, long len);

    private static native long nativeMremap(long oldAddress, long oldLen, long newLen, int flags, long newAddress);

    private static native int nativeMprotect(long address, long len, int prot);

    private static native int nativeMadvise(long address, long len, int advice);

    private static native ByteBuffer nativeView(long address, int len);
}
