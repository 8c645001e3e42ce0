package io.lazymig.images;

import java.util.Set;

/**
 * One of the character devices a runtime opens for itself: /dev/zero, /dev/full, /dev/random,
 * /dev/urandom (/dev/null is {@link DevNull}). Reopened by path with its flags, as CRIU does (it
 * keeps them as regular files with their char-device mode).
 */
public record CharDevice(int id, String path, int flags, long pos) implements FileObject {
    public static final Set<String> PATHS = Set.of("/dev/zero", "/dev/full", "/dev/random", "/dev/urandom");

    public CharDevice {
        FileObject.checkId(id);
        FileObject.checkPos(id, pos);
        if (!PATHS.contains(path)) {
            throw new IllegalArgumentException(path + " is not one of the devices " + PATHS);
        }
    }

    public static boolean isCharDevicePath(String path) {
        return PATHS.contains(path);
    }

    @Override
    public String describe() {
        return path;
    }
}
