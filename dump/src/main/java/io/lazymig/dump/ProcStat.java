package io.lazymig.dump;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The fields of /proc/PID/stat that PR_SET_MM_MAP needs. Counting from the first field after the
 * last ')' as field 3 (state), as proc(5) numbers them: 26 start_code .. 28 start_stack, 45
 * start_data .. 51 env_end. brk itself is not there (only start_brk).
 */
public record ProcStat(char state, int ppid, int threads, long startCode, long endCode, long startStack,
                       long startData, long endData, long startBrk, long argStart, long argEnd, long envStart,
                       long envEnd) {

    public static ProcStat read(int pid) throws IOException {
        return parse(ProcText.read(Path.of("/proc", Integer.toString(pid), "stat")));
    }

    static ProcStat parse(String stat) throws IOException {
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            throw new IOException("unparsable /proc/PID/stat: " + stat);
        }
        String[] f = stat.substring(close + 1).trim().split("\\s+");
        if (f.length < 49) {
            throw new IOException("/proc/PID/stat has " + (f.length + 2) + " fields, expected at least 51");
        }
        return new ProcStat(f[0].charAt(0), Integer.parseInt(f[1]), Integer.parseInt(f[field(20)]),
                u(f, 26), u(f, 27), u(f, 28), u(f, 45), u(f, 46), u(f, 47), u(f, 48), u(f, 49), u(f, 50), u(f, 51));
    }

    /** Index into the split array of proc(5)'s 1-based field number n (field 3 is index 0). */
    private static int field(int n) {
        return n - 3;
    }

    private static long u(String[] f, int n) {
        return Long.parseUnsignedLong(f[field(n)]);
    }
}
