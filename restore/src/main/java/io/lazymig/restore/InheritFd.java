package io.lazymig.restore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an external resource of the checkpoint becomes on this host (restore --inherit-fd, CRIU's
 * idea): {@code fd[N]:RESOURCE} — fd N that restore was started with (the new process gets the same
 * open file, as a dup) — or {@code PATH:RESOURCE} — PATH opened with the end's access mode (a write
 * end appends, creating a missing file). RESOURCE names it as dump saw it: {@code pipe:[INODE]}.
 */
public record InheritFd(String resource, int fd, String path) {
    private static final Pattern SPEC = Pattern.compile("(.+):(pipe:\\[[0-9]+\\])");
    private static final Pattern FD = Pattern.compile("fd\\[([0-9]{1,9})\\]");

    public InheritFd {
        if ((fd < 0) == (path == null)) {
            throw new IllegalArgumentException("an inherited resource is an fd or a path, exactly one");
        }
        if (path != null && !path.startsWith("/")) {
            throw new IllegalArgumentException("--inherit-fd path " + path + " is not absolute");
        }
    }

    /** Parses {@code fd[N]:pipe:[INODE]} or {@code /PATH:pipe:[INODE]}; an IllegalArgumentException says what is wrong. */
    public static InheritFd parse(String spec) {
        Matcher m = SPEC.matcher(spec);
        if (!m.matches()) {
            throw new IllegalArgumentException("--inherit-fd " + spec + ": expected fd[N]:pipe:[INODE] or PATH:pipe:[INODE]");
        }
        String source = m.group(1);
        Matcher f = FD.matcher(source);
        if (f.matches()) {
            return new InheritFd(m.group(2), Integer.parseInt(f.group(1)), null);
        }
        if (!source.startsWith("/")) {
            throw new IllegalArgumentException("--inherit-fd " + spec + ": " + source + " is neither fd[N] nor an absolute path");
        }
        return new InheritFd(m.group(2), -1, source);
    }

    public boolean isFd() {
        return path == null;
    }

    /** Whether restore (this JVM) has fd {@link #fd()} open, for a check before anything starts. */
    boolean fdIsOpen() {
        return Files.exists(Path.of("/proc/self/fd", Integer.toString(fd)));
    }

    @Override
    public String toString() {
        return (isFd() ? "fd[" + fd + "]" : path) + ":" + resource;
    }
}
