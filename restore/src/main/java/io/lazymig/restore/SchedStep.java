package io.lazymig.restore;

import io.lazymig.images.Sched;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Each thread's scheduling policy, real-time priority and nice value, by sched_setscheduler(0,
 * ...) and setpriority(PRIO_PROCESS, 0, nice) run by that thread itself (with pid/who 0 both act
 * on the calling thread alone on Linux). Every thread starts with the stub's (a created thread
 * inherits its creator's), so only what differs from the stub's is set; the threads that need any
 * run their calls all at once ({@link SyscallRun#runEach}): the agent's stub runs at a nice value
 * of its own, so every thread of a process with 100 differs, and injected one by one they took
 * 3.5-7.6 ms. Before the credentials are dropped (a real-time policy or a lower nice needs
 * CAP_SYS_NICE), and late, so a thread restored to SCHED_IDLE or a high nice runs few injections
 * after it.
 */
final class SchedStep implements RestoreStep {
    /** A struct sched_param: one int, 8 bytes in the scratch area to keep the next aligned. */
    private static final int PARAM_SIZE = 8;

    @Override
    public String name() {
        return "scheduling";
    }

    @Override
    public void run(Restoring r) throws IOException {
        Sched inherited = current(r.pid);
        for (List<ThreadStep.Running> group : ThreadStep.groups(ThreadStep.running(r), ThreadStep.GROUP)) {
            set(r.stub, group, inherited);
        }
    }

    /** The scheduling of each thread of {@code group} (in the process of {@code stub}) that differs from {@code from}. */
    private static void set(Stub stub, List<ThreadStep.Running> group, Sched from) throws IOException {
        List<Integer> tids = new ArrayList<>();
        List<List<SyscallRun.Call>> calls = new ArrayList<>();
        List<List<String>> names = new ArrayList<>();
        int params = 0;
        for (ThreadStep.Running t : group) {
            Sched s = t.state().sched();
            if (s.policy() != from.policy() || s.priority() != from.priority()) {
                params++;
            }
        }
        stub.resetScratch();
        long base = stub.cursor();
        ByteBuffer memory = Stub.struct(Math.max(params, 1) * PARAM_SIZE);
        int at = 0;
        for (ThreadStep.Running t : group) {
            Sched s = t.state().sched();
            List<SyscallRun.Call> c = new ArrayList<>(2);
            List<String> n = new ArrayList<>(2);
            if (s.policy() != from.policy() || s.priority() != from.priority()) {
                memory.putInt(at, s.priority()).putInt(at + 4, 0); // struct sched_param
                c.add(new SyscallRun.Call(Syscalls.SCHED_SETSCHEDULER, 0, s.policy(), base + at));
                n.add("sched_setscheduler(" + s.policy() + ", " + s.priority() + ")");
                at += PARAM_SIZE;
            }
            if (s.nice() != from.nice()) {
                c.add(new SyscallRun.Call(Syscalls.SETPRIORITY, Syscalls.PRIO_PROCESS, 0, s.nice()));
                n.add("setpriority(" + s.nice() + ")");
            }
            if (!c.isEmpty()) {
                tids.add(t.tid());
                calls.add(c);
                names.add(n);
            }
        }
        if (tids.isEmpty()) {
            return;
        }
        if (stub.put(memory) != base) {
            throw new IllegalStateException("the threads' sched_params not where they were laid out for");
        }
        long[][] rcs = SyscallRun.runEach(stub, tids, calls);
        for (int t = 0; t < rcs.length; t++) {
            for (int i = 0; i < rcs[t].length; i++) {
                if (SyscallRun.failed(rcs[t][i])) {
                    int errno = Syscalls.errno(rcs[t][i]);
                    throw new RestoreException("injected " + names.get(t).get(i) + " in thread " + tids.get(t)
                            + " failed: " + Errno.name(errno) + " (" + Errno.text(errno) + ")");
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
