package io.lazymig.images;

/**
 * A flock(2) lock a process holds on {@code path}, shared or exclusive, through its fd {@code fd},
 * or ({@code fd} = {@link #VIA_MAPPING}) through a mapping of the file: flock locks belong to the
 * open file, which a mapping keeps after its fd is closed (a JVM locks its perf-data file that
 * way, so that other JVMs can tell it is alive). Restore takes it again through the same fd or
 * mapping. POSIX and OFD locks are not modelled (dump refuses them).
 */
public record FileLock(int pid, String path, boolean exclusive, int fd) {
    public static final int VIA_MAPPING = -1;

    public FileLock {
        if (pid <= 0) {
            throw new IllegalArgumentException("flock on " + path + ": pid " + pid);
        }
        FilePaths.check(path);
        if (fd < VIA_MAPPING) {
            throw new IllegalArgumentException("flock on " + path + ": fd " + fd);
        }
    }

    public boolean viaMapping() {
        return fd == VIA_MAPPING;
    }

    @Override
    public String toString() {
        return (exclusive ? "exclusive" : "shared") + " flock on " + path + (viaMapping() ? " (through its mapping)" : " (fd " + fd + ")");
    }
}
