package io.lazymig.jni;

/**
 * Files opened by the handle the kernel names them with (name_to_handle_at's, or the f_handle an
 * inotify watch shows in fdinfo), paired with {@code lm_fhandle.c}: open_by_handle_at, which needs
 * CAP_DAC_READ_SEARCH and any fd on the file's filesystem to say which one.
 */
public final class FileHandles {
    static {
        NativeLibrary.load();
    }

    /** The largest handle the kernel takes (MAX_HANDLE_SZ). */
    public static final int MAX_HANDLE_SIZE = (int) constant("MAX_HANDLE_SZ");

    private FileHandles() {
    }

    /**
     * open_by_handle_at(mountFd, {type, handle}, flags | O_CLOEXEC); the caller owns the result. A
     * file that no longer exists is ESTALE, a handle of another filesystem usually too.
     */
    public static FileDescriptor open(FileDescriptor mountFd, int type, byte[] handle, int flags) throws NativeException {
        if (handle.length > MAX_HANDLE_SIZE) {
            throw new IllegalArgumentException("file handle of " + handle.length + " bytes (at most " + MAX_HANDLE_SIZE + ")");
        }
        String call = "open_by_handle_at(type " + type + ", " + handle.length + " bytes)";
        return new FileDescriptor(NativeException.check(call, nativeOpen(mountFd.fd(), type, handle, flags)));
    }

    private static native int nativeOpen(int mountFd, int type, byte[] handle, int flags);

    private static native long constant(String name);
}
