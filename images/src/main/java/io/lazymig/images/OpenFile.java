package io.lazymig.images;

/**
 * One open file descriptor: number, close-on-exec, the file's absolute path, its open flags (O_*) and
 * offset. Restore reopens it by path. The {@link #kind()} follows from the path.
 */
public record OpenFile(int fd, boolean closeOnExec, String path, int flags, long pos) {
    /** Bound on path length (PATH_MAX). */
    public static final int MAX_PATH = 4096;

    public enum Kind {
        /** A regular file, directory or other by-path object. */
        REGULAR,
        /** /dev/null. CRIU stores it as a regular file, and so do we. */
        DEV_NULL,
        /** A terminal: /dev/pts/N, /dev/ttyX or /dev/console. Stored as a regular file by path (CRIU has a TTY type). */
        TTY
    }

    public OpenFile {
        if (fd < 0) {
            throw new IllegalArgumentException("negative fd " + fd);
        }
        checkPath(path);
        if (pos < 0) {
            throw new IllegalArgumentException("fd " + fd + ": negative offset " + pos);
        }
    }

    public Kind kind() {
        return kindOf(path);
    }

    static Kind kindOf(String path) {
        if (path.equals("/dev/null")) {
            return Kind.DEV_NULL;
        }
        if (path.startsWith("/dev/pts/") || path.startsWith("/dev/tty") || path.equals("/dev/console")) {
            return Kind.TTY;
        }
        return Kind.REGULAR;
    }

    static void checkPath(String path) {
        if (path == null || !path.startsWith("/") || path.length() > MAX_PATH || path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("path " + (path == null ? "null" : '"' + path + '"')
                    + " is not an absolute path without NUL of at most " + MAX_PATH + " characters");
        }
    }
}
