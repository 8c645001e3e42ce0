package io.lazymig.images;

import java.util.HexFormat;

/**
 * One watch of an inotify instance: its watch descriptor, the path of the watched file at dump
 * (restore watches that path again), its event mask (IN_* with IN_ONESHOT, IN_EXCL_UNLINK ...) and
 * ignored mask, and the file's identity as the kernel printed it (inode, device, file handle type
 * and bytes in hex), which CRIU restores from.
 */
public record InotifyWatch(int wd, String path, int mask, int ignoredMask, long ino, int dev, int handleType,
        String handleHex) {
    /** The largest file handle (MAX_HANDLE_SZ) and what CRIU's fh_entry holds: 16 words. */
    public static final int MAX_HANDLE_BYTES = 128;

    public InotifyWatch {
        if (wd <= 0) {
            throw new IllegalArgumentException("inotify watch descriptor " + wd + " (they start at 1)");
        }
        FilePaths.check(path);
        if (handleHex == null || handleHex.length() % 2 != 0 || handleHex.length() / 2 > MAX_HANDLE_BYTES) {
            throw new IllegalArgumentException("inotify watch " + wd + ": file handle " + handleHex
                    + " is not hex of at most " + MAX_HANDLE_BYTES + " bytes");
        }
        HexFormat.of().parseHex(handleHex); // throws on a bad digit
    }
}
