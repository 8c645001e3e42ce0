package io.lazymig.images;

/** The rule every path in a checkpoint follows. */
final class FilePaths {
    /** Bound on path length (PATH_MAX). */
    static final int MAX_PATH = 4096;

    private FilePaths() {
    }

    static void check(String path) {
        if (path == null || !path.startsWith("/") || path.length() > MAX_PATH || path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("path " + (path == null ? "null" : '"' + path + '"')
                    + " is not an absolute path without NUL of at most " + MAX_PATH + " characters");
        }
    }

    static boolean isTerminal(String path) {
        return path.startsWith("/dev/pts/") || path.startsWith("/dev/tty") || path.equals("/dev/console");
    }
}
