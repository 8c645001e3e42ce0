package io.lazymig.images;

/**
 * A terminal (/dev/pts/N, /dev/ttyX, /dev/console): restore hands the restoring shell's own stdio
 * over (CRIU's --shell-job). Stored as a regular file by path with a char-device mode, which CRIU
 * restores too (CRIU's own dumps use its TTY type, which needs tty-info images).
 */
public record Terminal(int id, String path, int flags, long pos) implements FileObject {
    public Terminal {
        FileObject.checkId(id);
        FilePaths.check(path);
        FileObject.checkPos(id, pos);
        if (!FilePaths.isTerminal(path)) {
            throw new IllegalArgumentException(path + " is not a terminal");
        }
    }

    @Override
    public String describe() {
        return "terminal " + path;
    }

    public static boolean isTerminalPath(String path) {
        return FilePaths.isTerminal(path);
    }
}
