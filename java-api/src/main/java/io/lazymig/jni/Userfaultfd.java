package io.lazymig.jni;

import java.nio.ByteBuffer;

/**
 * A userfaultfd: the handle through which missing pages of registered ranges are reported
 * ({@link UffdMessage}) and filled ({@link #copy}, {@link #zeropage}, {@link #wake}).
 *
 * <p>A uffd is bound to the memory (mm) of the process that created it, not of whoever holds
 * it: one created here serves this process; one created inside another process and pulled out
 * with pidfd_getfd or received over SCM_RIGHTS ({@link #adopt}) serves that process, and
 * {@link #api}, {@link #register} and the fills act on that process's memory.
 *
 * <p>Mechanism only. Argument errors (unaligned or empty ranges, heap buffers) throw
 * {@link IllegalArgumentException} before any system call. On the fault path the kernel's
 * expected outcomes are values, not exceptions: {@link #copy} and {@link #zeropage} return
 * {@code -EEXIST}, {@code -EAGAIN}, {@code -ENOENT}, {@code -ESRCH} and {@code -ENOSPC};
 * {@link #readMessages} returns 0 for {@code EAGAIN}. Any other failure throws
 * {@link NativeException} naming the call and range, e.g. {@code "UFFDIO_REGISTER(0x7f0000000000, 4096)"}.
 *
 * <p>Thread-safe: one thread may read messages while others copy. Do not {@link #close} while
 * other threads still use it (as with any fd, the number could be reused).
 */
public final class Userfaultfd implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    /** Flag for {@link #create(int)}: only user-mode faults are reported; kernel accesses get EFAULT. */
    public static final int USER_MODE_ONLY = (int) constant("UFFD_USER_MODE_ONLY");

    // UFFDIO_API feature bits (requested in api(); supportedFeatures() lists what this kernel has).
    public static final long FEATURE_PAGEFAULT_FLAG_WP = constant("UFFD_FEATURE_PAGEFAULT_FLAG_WP");
    public static final long FEATURE_EVENT_FORK = constant("UFFD_FEATURE_EVENT_FORK");
    public static final long FEATURE_EVENT_REMAP = constant("UFFD_FEATURE_EVENT_REMAP");
    public static final long FEATURE_EVENT_REMOVE = constant("UFFD_FEATURE_EVENT_REMOVE");
    public static final long FEATURE_MISSING_HUGETLBFS = constant("UFFD_FEATURE_MISSING_HUGETLBFS");
    public static final long FEATURE_MISSING_SHMEM = constant("UFFD_FEATURE_MISSING_SHMEM");
    public static final long FEATURE_EVENT_UNMAP = constant("UFFD_FEATURE_EVENT_UNMAP");
    /** Faults raise SIGBUS instead of queueing a message: incompatible with lazy serving. */
    public static final long FEATURE_SIGBUS = constant("UFFD_FEATURE_SIGBUS");
    /** Page-fault messages carry the faulting thread id ({@link UffdMessage#pageFaultThreadId()}). */
    public static final long FEATURE_THREAD_ID = constant("UFFD_FEATURE_THREAD_ID");
    public static final long FEATURE_MINOR_HUGETLBFS = constant("UFFD_FEATURE_MINOR_HUGETLBFS");
    public static final long FEATURE_MINOR_SHMEM = constant("UFFD_FEATURE_MINOR_SHMEM");
    /** Page-fault addresses are not rounded down to the page. */
    public static final long FEATURE_EXACT_ADDRESS = constant("UFFD_FEATURE_EXACT_ADDRESS");
    public static final long FEATURE_WP_HUGETLBFS_SHMEM = constant("UFFD_FEATURE_WP_HUGETLBFS_SHMEM");
    public static final long FEATURE_WP_UNPOPULATED = constant("UFFD_FEATURE_WP_UNPOPULATED");
    public static final long FEATURE_POISON = constant("UFFD_FEATURE_POISON");
    public static final long FEATURE_WP_ASYNC = constant("UFFD_FEATURE_WP_ASYNC");
    public static final long FEATURE_MOVE = constant("UFFD_FEATURE_MOVE");

    // UFFDIO_REGISTER modes.
    public static final long REGISTER_MODE_MISSING = constant("UFFDIO_REGISTER_MODE_MISSING");
    public static final long REGISTER_MODE_WP = constant("UFFDIO_REGISTER_MODE_WP");
    public static final long REGISTER_MODE_MINOR = constant("UFFDIO_REGISTER_MODE_MINOR");

    // COPY / ZEROPAGE modes (0 = wake the waiters of the range once filled).
    public static final long COPY_MODE_DONTWAKE = constant("UFFDIO_COPY_MODE_DONTWAKE");
    public static final long COPY_MODE_WP = constant("UFFDIO_COPY_MODE_WP");
    public static final long ZEROPAGE_MODE_DONTWAKE = constant("UFFDIO_ZEROPAGE_MODE_DONTWAKE");

    // Bit numbers in the ioctls masks of api() and register(); test with hasIoctl(mask, bit).
    public static final int IOCTL_REGISTER = (int) constant("_UFFDIO_REGISTER");
    public static final int IOCTL_UNREGISTER = (int) constant("_UFFDIO_UNREGISTER");
    public static final int IOCTL_WAKE = (int) constant("_UFFDIO_WAKE");
    public static final int IOCTL_COPY = (int) constant("_UFFDIO_COPY");
    public static final int IOCTL_ZEROPAGE = (int) constant("_UFFDIO_ZEROPAGE");
    public static final int IOCTL_MOVE = (int) constant("_UFFDIO_MOVE");
    public static final int IOCTL_WRITEPROTECT = (int) constant("_UFFDIO_WRITEPROTECT");
    public static final int IOCTL_CONTINUE = (int) constant("_UFFDIO_CONTINUE");
    public static final int IOCTL_POISON = (int) constant("_UFFDIO_POISON");
    public static final int IOCTL_API = (int) constant("_UFFDIO_API");

    private static final long PAGE = SystemInfo.PAGE_SIZE;

    private static final Object SUPPORTED_LOCK = new Object();
    private static volatile boolean supportedKnown;
    private static long supported;

    private final FileDescriptor fd;
    /** Guards api state; the fault path never takes it. */
    private final Object apiLock = new Object();
    private volatile boolean apiDone;
    private long enabledFeatures;
    private long apiIoctls;

    private Userfaultfd(FileDescriptor fd) {
        this.fd = fd;
    }

    /**
     * A new uffd for THIS process's memory: userfaultfd(2) with {@code flags} (any of
     * {@link FileDescriptor#O_CLOEXEC}, {@link FileDescriptor#O_NONBLOCK}, {@link #USER_MODE_ONLY});
     * when the syscall gives EPERM or ENOSYS, /dev/userfaultfd + USERFAULTFD_IOC_NEW instead.
     * Without CAP_SYS_PTRACE (vm.unprivileged_userfaultfd=0) and without access to the device this
     * fails with the syscall's EPERM. Without CAP_SYS_PTRACE, {@link #api} refuses
     * {@link #FEATURE_EVENT_FORK} with EPERM although {@link #supportedFeatures()} lists it.
     * O_CLOEXEC is not added implicitly: the caller states it.
     */
    public static Userfaultfd create(int flags) throws NativeException {
        int f = NativeException.check("userfaultfd(flags=0x" + Integer.toHexString(flags) + ")", nativeCreate(flags));
        return new Userfaultfd(new FileDescriptor(f));
    }

    /** {@code create(O_CLOEXEC | O_NONBLOCK)}: the usual choice for a poll-driven handler. */
    public static Userfaultfd create() throws NativeException {
        return create(FileDescriptor.O_CLOEXEC | FileDescriptor.O_NONBLOCK);
    }

    /**
     * Takes ownership of a uffd made elsewhere (pidfd_getfd, SCM_RIGHTS, a fork event) on which
     * UFFDIO_API has NOT been done yet. The calls act on the memory of the process that created it.
     */
    public static Userfaultfd adopt(FileDescriptor fd) {
        if (fd == null) {
            throw new IllegalArgumentException("adopt: null FileDescriptor");
        }
        return new Userfaultfd(fd);
    }

    /**
     * Takes ownership of a uffd on which UFFDIO_API was already done elsewhere with
     * {@code enabledFeatures} (the kernel cannot tell; the sender must). A forked child's uffd
     * from {@link UffdMessage#forkUffd()} inherits its parent's features and is adopted this way.
     */
    public static Userfaultfd adopt(FileDescriptor fd, long enabledFeatures) {
        Userfaultfd u = adopt(fd);
        synchronized (u.apiLock) {
            u.enabledFeatures = enabledFeatures;
            u.apiIoctls = 0;
            u.apiDone = true;
        }
        return u;
    }

    /**
     * The features this kernel supports, learned once per JVM on a throwaway uffd (UFFDIO_API with
     * features 0, then closed), and cached. A throwaway fd is needed because UFFDIO_API reports
     * the supported set, not the enabled one, and can be done only once per uffd.
     */
    public static long supportedFeatures() throws NativeException {
        if (!supportedKnown) {
            synchronized (SUPPORTED_LOCK) {
                if (!supportedKnown) {
                    try (Userfaultfd probe = create(FileDescriptor.O_CLOEXEC)) {
                        long[] out = new long[2];
                        NativeException.check("UFFDIO_API(features=0) on a probe uffd", nativeApi(probe.fd(), 0, out));
                        supported = out[0];
                    }
                    supportedKnown = true;
                }
            }
        }
        return supported;
    }

    /**
     * UFFDIO_API enabling exactly {@code features}; returns the ioctls bitmask the kernel allows
     * on this uffd. Page-fault messages are always enabled. Remembers {@code features} as
     * {@link #enabledFeatures()}: the kernel's own output lists every SUPPORTED feature, not the
     * enabled ones, so it is not used for that. A second UFFDIO_API on one uffd is EINVAL in the
     * kernel; here it is refused up front with {@link IllegalStateException}. An unsupported
     * feature gives EINVAL; EVENT_FORK without CAP_SYS_PTRACE gives EPERM.
     */
    public long api(long features) throws NativeException {
        synchronized (apiLock) {
            if (apiDone) {
                throw new IllegalStateException("UFFDIO_API was already done on " + this
                        + " (a second UFFDIO_API on one uffd is EINVAL)");
            }
            String call = "UFFDIO_API(features=0x" + Long.toHexString(features) + ")";
            long[] out = new long[2];
            NativeException.check(call, nativeApi(fdFor(call), features, out));
            enabledFeatures = features;
            apiIoctls = out[1];
            apiDone = true;
            return apiIoctls;
        }
    }

    /** Whether UFFDIO_API was done through this object (or declared done by {@link #adopt(FileDescriptor, long)}). */
    public boolean isApiDone() {
        return apiDone;
    }

    /** The features requested by {@link #api}; throws {@link IllegalStateException} before it. */
    public long enabledFeatures() {
        synchronized (apiLock) {
            if (!apiDone) {
                throw new IllegalStateException("UFFDIO_API not done yet on " + this);
            }
            return enabledFeatures;
        }
    }

    /** The ioctls bitmask returned by {@link #api} (0 when adopted after API done elsewhere). */
    public long apiIoctls() {
        synchronized (apiLock) {
            if (!apiDone) {
                throw new IllegalStateException("UFFDIO_API not done yet on " + this);
            }
            return apiIoctls;
        }
    }

    /** Whether bit {@code ioctlBit} (an {@code IOCTL_*} constant) is set in {@code ioctls}. */
    public static boolean hasIoctl(long ioctls, int ioctlBit) {
        return (ioctls & (1L << ioctlBit)) != 0;
    }

    /**
     * UFFDIO_REGISTER of {@code [start, start+len)} with {@code mode} (REGISTER_MODE_*); returns
     * the ioctls allowed on the range (test with {@link #hasIoctl}). Only anonymous, shmem and
     * hugetlb mappings can be registered for MISSING (a private file mapping gives EINVAL); a
     * range already registered with another uffd gives EBUSY.
     */
    public long register(long start, long len, long mode) throws NativeException {
        checkRange("UFFDIO_REGISTER", start, len);
        int f = fdFor("UFFDIO_REGISTER", start, len);
        long[] out = new long[1];
        int rc = nativeRegister(f, start, len, mode, out);
        if (rc < 0) {
            throw new NativeException(call("UFFDIO_REGISTER", start, len) + " mode=0x" + Long.toHexString(mode), -rc);
        }
        return out[0];
    }

    /**
     * UFFDIO_UNREGISTER; later missing pages there are ordinary zero-fill faults. Throws
     * {@link NativeException} with errno ENOMEM when the uffd's process is gone (its mm died).
     */
    public void unregister(long start, long len) throws NativeException {
        checkRange("UFFDIO_UNREGISTER", start, len);
        int f = fdFor("UFFDIO_UNREGISTER", start, len);
        int rc = nativeUnregister(f, start, len);
        if (rc < 0) {
            throw new NativeException(call("UFFDIO_UNREGISTER", start, len), -rc);
        }
    }

    /** UFFDIO_WAKE: wakes the threads waiting on faults in the range (after DONTWAKE fills, or EEXIST). */
    public void wake(long start, long len) throws NativeException {
        checkRange("UFFDIO_WAKE", start, len);
        int f = fdFor("UFFDIO_WAKE", start, len);
        int rc = nativeWake(f, start, len);
        if (rc < 0) {
            throw new NativeException(call("UFFDIO_WAKE", start, len), -rc);
        }
    }

    /**
     * UFFDIO_COPY of {@code len} bytes from {@code src} (this process's memory, page-aligned) to
     * {@code dst} (in the uffd's process). Result contract:
     * <ul>
     * <li>{@code len}: all copied, and waiters woken unless {@link #COPY_MODE_DONTWAKE};</li>
     * <li>{@code 0 < r < len}: only the first {@code r} bytes were copied (the kernel stopped on an
     *     error for the next page, e.g. EEXIST, or a pending layout change, and reported EAGAIN);
     *     those are woken, the rest is untouched: issue it again to learn why;</li>
     * <li>{@code -errno}, nothing copied: {@code -EEXIST} (a page is already present: wake the
     *     range if someone faulted on it), {@code -EAGAIN} (a non-cooperative event is pending:
     *     read the messages, then retry), {@code -ENOENT} (range not registered, unmapped, or
     *     crosses a VMA), {@code -ESRCH}/{@code -ENOSPC} (the process is gone).</li>
     * </ul>
     * Any other errno (EINVAL, EFAULT, ENOMEM, EBADF...) throws {@link NativeException}.
     */
    public long copy(long dst, long src, long len, long mode) throws NativeException {
        checkRange("UFFDIO_COPY", dst, len);
        if ((src & (PAGE - 1)) != 0 || Long.compareUnsigned(src + len, src) < 0) {
            throw new IllegalArgumentException(call("UFFDIO_COPY", dst, len) + ": source 0x" + Long.toHexString(src)
                    + " is not page-aligned or the source range wraps");
        }
        int f = fdFor("UFFDIO_COPY", dst, len);
        long r = nativeCopy(f, dst, src, len, mode);
        if (r < 0 && !isExpectedFillError(r)) {
            throw new NativeException(call("UFFDIO_COPY", dst, len) + " from 0x" + Long.toHexString(src), (int) -r);
        }
        return r;
    }

    /**
     * UFFDIO_ZEROPAGE: maps zero pages over {@code [start, start+len)} (for faults on pages that
     * have no data, or the process hangs). Same result contract as {@link #copy}.
     */
    public long zeropage(long start, long len, long mode) throws NativeException {
        checkRange("UFFDIO_ZEROPAGE", start, len);
        int f = fdFor("UFFDIO_ZEROPAGE", start, len);
        long r = nativeZeropage(f, start, len, mode);
        if (r < 0 && !isExpectedFillError(r)) {
            throw new NativeException(call("UFFDIO_ZEROPAGE", start, len), (int) -r);
        }
        return r;
    }

    /**
     * Reads up to {@code max} messages with ONE read(2) into {@code buf} at absolute offsets
     * {@code 0, SIZE, 2*SIZE...} (position and limit untouched); returns how many were read, 0 when
     * a non-blocking uffd has none (EAGAIN). Decode them with {@link UffdMessage#wrap}. A blocking
     * uffd waits for the first message. Reading a FORK message installs a new fd in this process:
     * the reader owns it ({@link UffdMessage#forkUffd()}).
     */
    public int readMessages(ByteBuffer buf, int max) throws NativeException {
        if (max <= 0) {
            throw new IllegalArgumentException("readMessages: max must be > 0, got " + max);
        }
        if ((long) max * UffdMessage.SIZE > buf.capacity()) {
            throw new IllegalArgumentException("readMessages: " + max + " messages of " + UffdMessage.SIZE
                    + " bytes do not fit a buffer of capacity " + buf.capacity());
        }
        return readMessages(Buffers.address(buf), max);
    }

    /** As {@link #readMessages(ByteBuffer, int)} into {@code max} messages' room at a known address. */
    int readMessages(long address, int max) throws NativeException {
        int f;
        try {
            f = fd.fd();
        } catch (NativeException closed) {
            throw new NativeException("read(uffd)", Errno.EBADF);
        }
        int n = nativeReadMessages(f, address, max);
        if (n >= 0) {
            return n;
        }
        if (n == -Errno.EAGAIN) {
            return 0;
        }
        throw new NativeException("read(uffd " + f + ")", -n);
    }

    /** The fd number (for poll); throws {@link NativeException} EBADF once closed. */
    public int fd() throws NativeException {
        return fd.fd();
    }

    /** The owned descriptor, e.g. to dup it or send it over SCM_RIGHTS. Closing it closes this uffd. */
    public FileDescriptor fileDescriptor() {
        return fd;
    }

    public boolean isOpen() {
        return fd.isOpen();
    }

    /**
     * Closes the uffd once; later calls do nothing. When the last reference to a uffd closes, the
     * kernel unregisters its ranges and wakes its waiters, and missing pages become zero-fill.
     */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "userfaultfd(" + fd + ")";
    }

    private static boolean isExpectedFillError(long r) {
        int e = (int) -r;
        return e == Errno.EEXIST || e == Errno.EAGAIN || e == Errno.ENOENT || e == Errno.ESRCH || e == Errno.ENOSPC;
    }

    /** The fd number, or EBADF naming the call when closed (the name is built only on failure). */
    private int fdFor(String op, long start, long len) throws NativeException {
        try {
            return fd.fd();
        } catch (NativeException closed) {
            throw new NativeException(call(op, start, len), Errno.EBADF);
        }
    }

    private int fdFor(String call) throws NativeException {
        try {
            return fd.fd();
        } catch (NativeException closed) {
            throw new NativeException(call, Errno.EBADF);
        }
    }

    static String call(String op, long start, long len) {
        return op + "(0x" + Long.toHexString(start) + ", " + len + ")";
    }

    /** Page-aligned start and length, length > 0, no wrap-around. */
    private static void checkRange(String op, long start, long len) {
        if (len <= 0) {
            throw new IllegalArgumentException(call(op, start, len) + ": length must be > 0");
        }
        if ((start & (PAGE - 1)) != 0 || (len & (PAGE - 1)) != 0) {
            throw new IllegalArgumentException(call(op, start, len) + ": start and length must be multiples of the page size "
                    + PAGE);
        }
        if (Long.compareUnsigned(start + len, start) < 0) {
            throw new IllegalArgumentException(call(op, start, len) + ": range wraps around the address space");
        }
    }

    private static native long constant(String name);

    private static native int nativeCreate(int flags);

    private static native int nativeApi(int fd, long features, long[] out);

    private static native int nativeRegister(int fd, long start, long len, long mode, long[] out);

    private static native int nativeUnregister(int fd, long start, long len);

    private static native int nativeWake(int fd, long start, long len);

    private static native long nativeCopy(int fd, long dst, long src, long len, long mode);

    private static native long nativeZeropage(int fd, long start, long len, long mode);

    private static native int nativeReadMessages(int fd, long address, int max);
}
