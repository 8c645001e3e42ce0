package io.lazymig.dump;

import io.lazymig.images.Creds;
import io.lazymig.images.MmInfo;
import io.lazymig.images.ProcessState;
import io.lazymig.images.Rlimit;
import io.lazymig.images.SigAction;
import io.lazymig.images.SigInfo;
import io.lazymig.images.Timers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the process-wide state of a frozen process from /proc (identity, exe, cwd, root, umask,
 * credentials, personality, rlimits, the mm fields and auxv), given what only injection finds
 * (brk, the signal actions and the timers) and the process-wide pending signals (read by ptrace).
 */
final class ProcessStateReader {
    private ProcessStateReader() {
    }

    static ProcessState read(int pid, int ppid, long brk, List<SigAction> actions, List<SigInfo> sharedPending,
            Timers timers) throws IOException {
        ProcStat stat = ProcStat.read(pid);
        ProcStatus status = ProcStatus.read(pid);
        return ProcessState.builder()
                .pid(pid).ppid(ppid).pgid(pgid(pid)).sid(sid(pid))
                .comm(ProcText.read(proc(pid, "comm")).strip())
                .exePath(link(pid, "exe")).cwd(link(pid, "cwd")).root(link(pid, "root"))
                .umask(status.umask())
                .creds(creds(status))
                .personality(Integer.parseInt(ProcText.read(proc(pid, "personality")).strip(), 16))
                .rlimits(rlimits(pid))
                .sigactions(actions)
                .sharedPending(sharedPending)
                .timers(timers)
                .mm(new MmInfo(stat.startCode(), stat.endCode(), stat.startData(), stat.endData(), stat.startStack(),
                        stat.startBrk(), brk, stat.argStart(), stat.argEnd(), stat.envStart(), stat.envEnd(),
                        ProcAuxv.read(pid)))
                .build();
    }

    /** The identity the process runs with (securebits are not shown in /proc: 0). */
    static Creds creds(ProcStatus st) throws IOException {
        int[] uid = st.ids("Uid");
        int[] gid = st.ids("Gid");
        return new Creds(uid[0], gid[0], uid[1], gid[1], uid[2], gid[2], uid[3], gid[3], st.capabilities("CapInh"),
                st.capabilities("CapPrm"), st.capabilities("CapEff"), st.capabilities("CapBnd"),
                st.capabilities("CapAmb"), 0, st.groups(), "1".equals(st.get("NoNewPrivs")));
    }

    private static List<Rlimit> rlimits(int pid) throws IOException {
        List<Rlimit> out = new ArrayList<>();
        for (long[] l : ProcLimits.read(pid)) {
            out.add(new Rlimit(l[0], l[1]));
        }
        return out;
    }

    private static int pgid(int pid) throws IOException {
        return Integer.parseInt(statField(pid, 5));
    }

    private static int sid(int pid) throws IOException {
        return Integer.parseInt(statField(pid, 6));
    }

    /** proc(5)'s 1-based field n of /proc/PID/stat (n >= 3). */
    private static String statField(int pid, int n) throws IOException {
        String s = ProcText.read(proc(pid, "stat"));
        return s.substring(s.lastIndexOf(')') + 1).trim().split("\\s+")[n - 3];
    }

    private static Path proc(int pid, String name) {
        return Path.of("/proc", Integer.toString(pid), name);
    }

    private static String link(int pid, String name) throws IOException {
        return Files.readSymbolicLink(proc(pid, name)).toString();
    }
}
