package io.lazymig.dump;

import io.lazymig.images.Sched;
import java.io.IOException;
import java.nio.file.Files;
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
        Path stat = Path.of("/proc", Integer.toString(pid), "task", Integer.toString(tid), "stat");
        return parse(tid, Files.readString(stat));
    }

    static Sched parse(int tid, String stat) throws IOException {
        int close = stat.lastIndexOf(')');
        String[] f = close < 0 ? new String[0] : stat.substring(close + 1).trim().split("\\s+");
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
}
