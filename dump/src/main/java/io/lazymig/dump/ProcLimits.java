package io.lazymig.dump;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * /proc/PID/limits as (soft, hard) pairs in the kernel's RLIMIT_* order (the order of the lines),
 * "unlimited" as -1 (RLIM_INFINITY, all ones).
 */
public final class ProcLimits {
    public static final long UNLIMITED = -1L;

    private ProcLimits() {
    }

    public static long[][] read(int pid) throws IOException {
        return parse(ProcText.lines(Path.of("/proc", Integer.toString(pid), "limits")));
    }

    static long[][] parse(List<String> lines) throws IOException {
        if (lines.isEmpty() || !lines.get(0).startsWith("Limit")) {
            throw new IOException("unexpected /proc/PID/limits header");
        }
        // Columns are fixed-width: the soft limit starts under "Soft Limit" in the header.
        int softCol = lines.get(0).indexOf("Soft Limit");
        List<long[]> out = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) {
                continue;
            }
            if (line.length() <= softCol) {
                throw new IOException("unparsable limits line: " + line);
            }
            String[] f = line.substring(softCol).trim().split("\\s+");
            out.add(new long[] {value(f[0]), value(f[1])});
        }
        return out.toArray(new long[0][]);
    }

    private static long value(String s) {
        return s.equals("unlimited") ? UNLIMITED : Long.parseUnsignedLong(s);
    }
}
