package io.lazymig.images;

/**
 * One open file descriptor: number, close-on-exec, the file's absolute path, its open flags (O_*) and
 * offset. Restore reopens it by path. The {@link #kind()} follows from the path. {@code sharesWith}
 * is the lower fd that shares this fd's open file description (a dup, or {@code 2>&1}: one offset
 * for both), or {@link #OWN} — restore then dups instead of opening, so the offset stays shared.
 */
public record OpenFile(int fd, boolean closeOnExec, String path, int flags, long pos, int sharesWith) {
    /** Bound on path length (PATH_MAX). */
    public static final int MAX_PATH = 4096;
    /** {@code sharesWith} of an fd with an open file description of its own. */
    public static final int OWN = -1;

    /** An fd with an open file description of its own. */
    public OpenFile(int fd, boolean closeOnExec, String path, int flags, long pos) {
        this(fd, closeOnExec, path, flags, pos, OWN);
    }

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
        if (sharesWith != OWN && (sharesWith < 0 || sharesWith >= fd)) {
            throw new IllegalArgumentException("fd " + fd + " shares its file with fd " + sharesWith
                    + ": only a lower fd can be shared with");
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
