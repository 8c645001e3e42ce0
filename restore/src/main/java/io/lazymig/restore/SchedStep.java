package io.lazymig.restore;

import io.lazymig.images.Sched;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.ThreadScheduling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Each thread's scheduling policy, real-time priority and nice value, noted here for every thread
 * of the tree and given to it from outside ({@link #applyAll}: sched_setscheduler(tid, ...) and
 * setpriority(PRIO_PROCESS, tid, nice) by restore itself, which has CAP_SYS_NICE) just before the
 * release, once nothing more runs in the process: a thread restored to SCHED_IDLE or a high nice
 * runs no injection after it. Every thread starts with the stub's (a created thread inherits its
 * creator's), so only what differs from the stub's is set. The agent's stub runs at a nice value of
 * its own, so every thread differs there: injected into each thread (one run of all of them), the
 * threads of a process with 100, each dropped to its own nice as it ran its call, then waited for
 * the host's CPUs at it, 3.5-7.6 ms in make bench; from outside it takes ~1 us a thread.
 */
final class SchedStep implements TreeStep {
    /** A thread's scheduling to set: its tid here and what the images say; policy and/or nice. */
    record Change(int tid, Sched sched, boolean policy, boolean nice) {
    }

    @Override
    public String name() {
        return "scheduling";
    }

    @Override
    public void runAll(List<Restoring> all) throws IOException {
        for (Restoring r : all) {
            Sched from = current(r.pid);
            for (ThreadStep.Running t : ThreadStep.running(r)) {
                Sched s = t.state().sched();
                boolean policy = s.policy() != from.policy() || s.priority() != from.priority();
                boolean nice = s.nice() != from.nice();
                if (policy || nice) {
                    r.schedChanges.add(new Change(t.tid(), s, policy, nice));
                }
            }
        }
    }

    /** Gives every thread noted by {@link #runAll} its scheduling; a refusal fails the restore, naming the thread. */
    static void applyAll(List<Restoring> all) throws IOException {
        for (Restoring r : all) {
            for (Change c : r.schedChanges) {
                try {
                    if (c.policy()) {
                        ThreadScheduling.setPolicyOf(c.tid(), c.sched().policy(), c.sched().priority());
                    }
                    if (c.nice()) {
                        ThreadScheduling.setNiceOf(c.tid(), c.sched().nice());
                    }
                } catch (NativeException e) {
                    throw new RestoreException("cannot give thread " + c.tid() + " of process " + r.pid + " its scheduling "
                            + c.sched() + ": " + e.getMessage(), e);
                }
            }
        }
    }

    /** The stub's scheduling from /proc/PID/stat (proc(5) fields 19 nice, 40 rt_priority, 41 policy). */
    private static Sched current(int pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 1).trim().split("\\s+");
        if (f.length < 41 - 2) {
            throw new RestoreException("unparsable /proc/" + pid + "/stat: " + stat);
        }
        return new Sched(Integer.parseInt(f[41 - 3]), Integer.parseInt(f[40 - 3]), Integer.parseInt(f[19 - 3]));
    }
}
