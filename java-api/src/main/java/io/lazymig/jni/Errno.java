package io.lazymig.jni;

/** errno values of this platform, read from C at load time, and their names and texts. */
public final class Errno {
    static {
        NativeLibrary.load();
    }

    public static final int EPERM = (int) constant("EPERM");
    public static final int ENOENT = (int) constant("ENOENT");
    public static final int ESRCH = (int) constant("ESRCH");
    public static final int EINTR = (int) constant("EINTR");
    public static final int EIO = (int) constant("EIO");
    public static final int EBADF = (int) constant("EBADF");
    public static final int ECHILD = (int) constant("ECHILD");
    public static final int EAGAIN = (int) constant("EAGAIN");
    public static final int ENOMEM = (int) constant("ENOMEM");
    public static final int EACCES = (int) constant("EACCES");
    public static final int EFAULT = (int) constant("EFAULT");
    public static final int EBUSY = (int) constant("EBUSY");
    public static final int EEXIST = (int) constant("EEXIST");
    public static final int EINVAL = (int) constant("EINVAL");
    public static final int ENOSPC = (int) constant("ENOSPC");
    public static final int ENOSYS = (int) constant("ENOSYS");
    public static final int EPIPE = (int) constant("EPIPE");
    public static final int ENOTTY = (int) constant("ENOTTY");
    public static final int ECONNRESET = (int) constant("ECONNRESET");
    public static final int EMSGSIZE = (int) constant("EMSGSIZE");
    public static final int ENOTCONN = (int) constant("ENOTCONN");
    public static final int ECONNREFUSED = (int) constant("ECONNREFUSED");
    public static final int EADDRNOTAVAIL = (int) constant("EADDRNOTAVAIL");
    public static final int EADDRINUSE = (int) constant("EADDRINUSE");
    public static final int ENOBUFS = (int) constant("ENOBUFS");
    public static final int ETIMEDOUT = (int) constant("ETIMEDOUT");
    public static final int ENXIO = (int) constant("ENXIO");

    private Errno() {
    }

    /** The symbolic name, e.g. "EEXIST", or "errno N" when the C library has none. */
    public static String name(int errno) {
        String n = nativeName(errno);
        return n != null ? n : "errno " + errno;
    }

    /** The C library's description, e.g. "File exists". */
    public static String text(int errno) {
        return nativeText(errno);
    }

    private static native long constant(String name);

    private static native String nativeName(int errno);

    private static native String nativeText(int errno);
}
