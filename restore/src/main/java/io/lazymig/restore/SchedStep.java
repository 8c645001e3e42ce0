package io.lazymig.restore;

import io.lazymig.images.Sched;
import io.lazymig.images.ThreadState;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Each thread's scheduling policy, real-time priority and nice value, by sched_setscheduler(0,
 * ...) and setpriority(PRIO_PROCESS, 0, nice) injected into that thread (with pid/who 0 both act
 * on the calling thread alone on Linux). Every thread starts with the stub's (a created thread
 * inherits its creator's), so only what differs from the stub's is set. Before the credentials
 * are dropped (a real-time policy or a lower nice needs CAP_SYS_NICE), and late, so a thread
 * restored to SCHED_IDLE or a high nice runs few injections after it.
 */
final class SchedStep implements RestoreStep {
    @Override
    public String name() {
        return "scheduling";
    }

    @Override
    public void run(Restoring r) throws IOException {
        Sched inherited = current(r.pid);
        for (Restoring.Created t : r.created) {
            set(t.stub(), t.state(), inherited);
        }
        set(r.stub, r.process.leader(), inherited);
    }

    /** Thread {@code t}'s scheduling into the thread {@code in} injects into, which has {@code from}. */
    private static void set(Stub in, ThreadState t, Sched from) throws IOException {
        Sched s = t.sched();
        if (s.policy() != from.policy() || s.priority() != from.priority()) {
            in.resetScratch();
            ByteBuffer param = Stub.struct(8).putInt(0, s.priority()).putInt(4, 0); // struct sched_param
            in.call("sched_setscheduler", Syscalls.SCHED_SETSCHEDULER, 0, s.policy(), in.put(param));
        }
        if (s.nice() != from.nice()) {
            in.call("setpriority", Syscalls.SETPRIORITY, Syscalls.PRIO_PROCESS, 0, s.nice());
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
