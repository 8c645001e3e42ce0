package io.lazymig.dump;

import io.lazymig.images.Sched;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A thread's scheduling from /proc/PID/task/TID/stat (proc(5) numbering): 19 nice, 40 rt_priority,
 * 41 policy. The kernel keeps nice for every policy, so it is read for real-time threads too.
 * SCHED_DEADLINE (its runtime, deadline and period are not there) is refused.
 */
final class ProcTaskSched {
    private ProcTaskSched() {
    }

    static Sched read(int pid, int tid) throws IOException {
        return parse(tid, stat(pid, tid));
    }

    /** /proc/PID/task/TID/stat, read once for both {@link #parse} and {@link #comm}. */
    static String stat(int pid, int tid) throws IOException {
        return ProcText.read(Path.of("/proc", Integer.toString(pid), "task", Integer.toString(tid), "stat"));
    }

    /**
     * The thread's name from its stat line (field 2, between the first '(' and the last ')': the
     * name itself may hold parentheses and spaces), as /proc/PID/task/TID/comm shows it: one file
     * read per thread instead of two inside the freeze.
     */
    static String comm(int tid, String stat) throws IOException {
        int open = stat.indexOf('(');
        int close = stat.lastIndexOf(')');
        if (open < 0 || close < open) {
            throw new IOException("unparsable /proc/PID/task/" + tid + "/stat: " + stat);
        }
        return stat.substring(open + 1, close);
    }

    static Sched parse(int tid, String stat) throws IOException {
        int close = stat.lastIndexOf(')');
        String[] f = close < 0 ? new String[0] : fieldsAfter(stat, close + 1, 41 - 2);
        if (f.length < 41 - 2) {
            throw new IOException("unparsable /proc/PID/task/" + tid + "/stat: " + stat);
        }
        int nice = Integer.parseInt(f[19 - 3]);
        int priority = Integer.parseInt(f[40 - 3]);
        int policy = Integer.parseInt(f[41 - 3]);
        if (policy == Sched.SCHED_DEADLINE) {
            throw new DumpException("thread " + tid + " runs under SCHED_DEADLINE, which lazymig cannot restore");
        }
        try {
            return new Sched(policy, priority, nice);
        } catch (IllegalArgumentException e) {
            throw new DumpException("thread " + tid + ": " + e.getMessage());
        }
    }

    /**
     * The first {@code count} whitespace-separated fields of {@code line} from {@code from}, fewer
     * when the line has fewer: a scan, not String.split's regex, as it runs once per thread inside
     * the freeze.
     */
    static String[] fieldsAfter(String line, int from, int count) {
        String[] out = new String[count];
        int n = 0;
        int i = from;
        while (n < count) {
            while (i < line.length() && Character.isWhitespace(line.charAt(i))) {
                i++;
            }
            if (i == line.length()) {
                return Arrays.copyOf(out, n);
            }
            int start = i;
            while (i < line.length() && !Character.isWhitespace(line.charAt(i))) {
                i++;
            }
            out[n++] = line.substring(start, i);
        }
        return out;
    }
}
