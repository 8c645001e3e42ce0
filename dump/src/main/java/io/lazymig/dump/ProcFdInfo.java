package io.lazymig.dump;

import java.io.IOException;
import java.nio.file.Path;

/**
 * /proc/PID/fdinfo/N: the file position and the open flags (printed in octal) of one fd, and the
 * whole text, whose other lines the readers of some kinds read (eventfd-count, tfd, ...).
 */
public record ProcFdInfo(long pos, int flags, String text) {
    public ProcFdInfo(long pos, int flags) {
        this(pos, flags, "");
    }

    public static ProcFdInfo read(int pid, int fd) throws IOException {
        return parse(ProcText.read(Path.of("/proc", Integer.toString(pid), "fdinfo", Integer.toString(fd))));
    }

    static ProcFdInfo parse(String text) throws IOException {
        Long pos = null;
        Integer flags = null;
        for (String line : text.split("\n")) {
            if (line.startsWith("pos:")) {
                pos = Long.parseLong(line.substring(4).trim());
            } else if (line.startsWith("flags:")) {
                flags = Integer.parseInt(line.substring(6).trim(), 8);
            }
        }
        if (pos == null || flags == null) {
            throw new IOException("fdinfo without pos or flags: " + text.strip());
        }
        return new ProcFdInfo(pos, flags, text);
    }
}
