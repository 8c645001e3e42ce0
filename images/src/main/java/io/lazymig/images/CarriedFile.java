package io.lazymig.images;

import java.util.Arrays;

/**
 * A small file the process had open or mapped, with its content at the freeze, its permission bits
 * and owner: it travels with the images (carried-files.img) so that restore can recreate it on a
 * host where it does not exist (the JVM's /tmp/hsperfdata_USER/PID, mapped shared, is the case in
 * point). A file that exists on the restoring host is used as it is there.
 */
public record CarriedFile(String path, int mode, int uid, int gid, byte[] content) {
    /** The largest file that can travel: one protobuf entry of an image ({@link ImageReader#MAX_ENTRY_SIZE}), less its fields. */
    public static final int MAX_BYTES = ImageReader.MAX_ENTRY_SIZE - FilePaths.MAX_PATH - 64;

    public CarriedFile {
        FilePaths.check(path);
        if ((mode & ~07777) != 0) {
            throw new IllegalArgumentException("carried file " + path + ": mode 0" + Integer.toOctalString(mode)
                    + " has bits outside 07777");
        }
        if (content.length > MAX_BYTES) {
            throw new IllegalArgumentException("carried file " + path + ": " + content.length + " bytes, beyond "
                    + MAX_BYTES);
        }
        content = content.clone();
    }

    /** A copy of the content. */
    @Override
    public byte[] content() {
        return content.clone();
    }

    public int size() {
        return content.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CarriedFile c && path.equals(c.path) && mode == c.mode && uid == c.uid && gid == c.gid
                && Arrays.equals(content, c.content);
    }

    @Override
    public int hashCode() {
        return path.hashCode() * 31 + Arrays.hashCode(content);
    }

    @Override
    public String toString() {
        return "carried file " + path + " (" + content.length + " bytes, mode 0" + Integer.toOctalString(mode) + ", "
                + uid + ":" + gid + ")";
    }
}
