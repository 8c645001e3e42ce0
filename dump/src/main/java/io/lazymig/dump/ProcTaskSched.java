package io.lazymig.dump;

import io.lazymig.images.Sched;
import java.io.IOException;
import java.nio.file.Path;

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

    /** {@link #stat(int, int)} read into {@code file}, the calling thread's (one per frozen thread). */
    static String stat(int pid, int tid, ProcFileBuffer file) throws IOException {
        return file.read("/proc/" + pid + "/task/" + tid + "/stat").text();
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
        int[] at = close < 0 ? null : fieldStarts(stat, close + 1, new int[] {19, 40, 41});
        if (at == null) {
            throw new IOException("unparsable /proc/PID/task/" + tid + "/stat: " + stat);
        }
        int nice;
        int priority;
        int policy;
        try {
            nice = Integer.parseInt(stat, at[0], fieldEnd(stat, at[0]), 10);
            priority = Integer.parseInt(stat, at[1], fieldEnd(stat, at[1]), 10);
            policy = Integer.parseInt(stat, at[2], fieldEnd(stat, at[2]), 10);
        } catch (NumberFormatException e) {
            throw new IOException("unparsable /proc/PID/task/" + tid + "/stat: " + stat, e);
        }
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
     * Where proc(5)'s fields {@code numbers} (ascending, >= 3) start in {@code line}, whose field 3
     * follows {@code from} (after the name's ')'), or null when the line is shorter: only those three
     * of 39 fields become anything, the rest are skipped by String.indexOf (compiled early in any
     * JVM; a char-by-char loop ran interpreted inside the freeze, 25-40 us a thread).
     */
    static int[] fieldStarts(String line, int from, int[] numbers) {
        int[] out = new int[numbers.length];
        int length = line.length();
        int i = from;
        int field = 2;
        for (int k = 0; k < numbers.length; k++) {
            while (field < numbers[k]) {
                while (i < length && Character.isWhitespace(line.charAt(i))) {
                    i++;
                }
                if (i == length) {
                    return null;
                }
                field++;
                if (field == numbers[k]) {
                    out[k] = i;
                }
                int end = line.indexOf(' ', i); // the kernel's separator
                i = end < 0 ? length : end;
            }
        }
        return out;
    }

    /** The end of the field starting at {@code start}: its next whitespace, or the line's end. */
    private static int fieldEnd(String line, int start) {
        int i = start;
        while (i < line.length() && !Character.isWhitespace(line.charAt(i))) {
            i++;
        }
        return i;
    }
}
