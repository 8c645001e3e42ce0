package io.lazymig.jni;

/**
 * Shared memory objects, paired with {@code lm_memfd.c}: a new memfd, its seals (F_GET_SEALS,
 * F_ADD_SEALS) and the size of a shmem file (ftruncate). Each fd returned is owned by the caller.
 */
public final class SharedMemory {
    static {
        NativeLibrary.load();
    }

    public static final int MFD_CLOEXEC = (int) constant("MFD_CLOEXEC");
    public static final int MFD_ALLOW_SEALING = (int) constant("MFD_ALLOW_SEALING");
    public static final int F_SEAL_SEAL = (int) constant("F_SEAL_SEAL");
    public static final int F_SEAL_SHRINK = (int) constant("F_SEAL_SHRINK");
    public static final int F_SEAL_GROW = (int) constant("F_SEAL_GROW");
    public static final int F_SEAL_WRITE = (int) constant("F_SEAL_WRITE");
    public static final int F_SEAL_FUTURE_WRITE = (int) constant("F_SEAL_FUTURE_WRITE");

    private SharedMemory() {
    }

    /** memfd_create(2); {@code name} is the name after "memfd:" (at most 249 bytes). */
    public static FileDescriptor createMemfd(String name, int flags) throws NativeException {
        return new FileDescriptor(NativeException.check("memfd_create(" + name + ")", nativeCreate(name, flags)));
    }

    /** fcntl(F_GET_SEALS): the seals of the memfd behind {@code fd}. */
    public static int seals(FileDescriptor fd) throws NativeException {
        return NativeException.check("fcntl(F_GET_SEALS)", nativeGetSeals(fd.fd()));
    }

    /** fcntl(F_ADD_SEALS). */
    public static void addSeals(FileDescriptor fd, int seals) throws NativeException {
        NativeException.check("fcntl(F_ADD_SEALS, 0x" + Integer.toHexString(seals) + ")", nativeAddSeals(fd.fd(), seals));
    }

    /** ftruncate(2). */
    public static void truncate(FileDescriptor fd, long size) throws NativeException {
        NativeException.check("ftruncate(" + size + ")", nativeTruncate(fd.fd(), size));
    }

    private static native long constant(String name);

    private static native int nativeCreate(String name, int flags);

    private static native int nativeGetSeals(int fd);

    private static native int nativeAddSeals(int fd, int seals);

    private static native int nativeTruncate(int fd, long size);
}
