package io.lazymig.restore;

import io.lazymig.images.MmInfo;
import io.lazymig.images.ProcessState;
import io.lazymig.images.Rlimit;
import io.lazymig.images.SigAction;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process-wide state restore puts back by injected syscalls: the mm fields (PR_SET_MM_MAP),
 * the name, cwd, umask, rlimits and signal actions. All but the mm fields are independent calls:
 * one run the whole tree makes at once ({@link SyscallRun#runAcross}), rather than ~20 injections
 * per process one after another.
 */
final class ProcessStep implements TreeStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");
    /** struct kernel_sigaction on x86_64: handler, flags, restorer, mask. */
    private static final int KERNEL_SIGACTION_SIZE = 32;

    @Override
    public String name() {
        return "process state";
    }

    @Override
    public void runAll(List<Restoring> all) throws IOException {
        List<Stub> stubs = new ArrayList<>();
        List<List<SyscallRun.Call>> opens = new ArrayList<>();
        for (Restoring r : all) {
            r.stub.resetScratch();
            stubs.add(r.stub);
            opens.add(List.of(new SyscallRun.Call(Syscalls.OPENAT, Syscalls.AT_FDCWD, r.stub.putString(r.process.state().exePath()),
                    FileDescriptor.O_RDONLY | FileDescriptor.O_CLOEXEC, 0)));
        }
        long[][] exeFds = SyscallRun.runAcross(stubs, opens);
        for (int p = 0; p < all.size(); p++) {
            if (SyscallRun.failed(exeFds[p][0])) {
                int errno = Syscalls.errno(exeFds[p][0]);
                throw new RestoreException("cannot open " + all.get(p).process.state().exePath()
                        + " for the restored process: " + Errno.name(errno) + " (" + Errno.text(errno) + ")");
            }
        }
        List<List<SyscallRun.Call>> calls = new ArrayList<>();
        for (int p = 0; p < all.size(); p++) {
            Restoring r = all.get(p);
            r.stub.resetScratch(); // the run's data first, then its code and records (SyscallRun)
            List<SyscallRun.Call> c = new ArrayList<>(mmCalls(r.stub, r.process.state(), exeFds[p][0]));
            c.addAll(stateCalls(r.stub, r.process.state()));
            calls.add(c);
        }
        long[][] rcs = SyscallRun.runAcross(stubs, calls);
        for (int p = 0; p < all.size(); p++) {
            Stub stub = stubs.get(p);
            for (int i = 0; i < MM_CALLS; i++) {
                if (SyscallRun.failed(rcs[p][i])) {
                    int errno = Syscalls.errno(rcs[p][i]);
                    throw new RestoreException("injected " + (i == 0 ? "prctl(PR_SET_MM_MAP)" : "close(exe)") + " in process "
                            + stub.pid() + " failed: " + Errno.name(errno) + " (" + Errno.text(errno) + ")");
                }
            }
            List<SyscallRun.Call> state = calls.get(p).subList(MM_CALLS, calls.get(p).size());
            check(stub, all.get(p).process.state(), state, Arrays.copyOfRange(rcs[p], MM_CALLS, rcs[p].length));
        }
    }

    /** The calls of {@link #mmCalls}, first in each process's run. */
    private static final int MM_CALLS = 2;

    /**
     * PR_SET_MM_MAP with the mm fields, auxv and exe, then the exe's fd closed (the stub's own exe
     * must be unmapped already): the fd opened by a run before, the exe and the state calls of
     * every process in one run across the tree, not three injections a process one after another.
     */
    private static List<SyscallRun.Call> mmCalls(Stub stub, ProcessState task, long exeFd) throws IOException {
        MmInfo mm = task.mm();
        long[] auxv = mm.auxv();
        ByteBuffer auxvBuf = Stub.struct(auxv.length * 8);
        for (long w : auxv) {
            auxvBuf.putLong(w);
        }
        auxvBuf.flip();
        long auxvAt = stub.put(auxvBuf);
        ByteBuffer map = Stub.struct(SystemInfo.PRCTL_MM_MAP_SIZE);
        map.putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_START_CODE, mm.startCode())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_END_CODE, mm.endCode())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_START_DATA, mm.startData())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_END_DATA, mm.endData())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_START_BRK, mm.startBrk())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_BRK, mm.brk())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_START_STACK, mm.startStack())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_ARG_START, mm.argStart())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_ARG_END, mm.argEnd())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_ENV_START, mm.envStart())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_ENV_END, mm.envEnd())
                .putLong(SystemInfo.PRCTL_MM_MAP_OFFSET_AUXV, auxvAt)
                .putInt(SystemInfo.PRCTL_MM_MAP_OFFSET_AUXV_SIZE, auxv.length * 8)
                .putInt(SystemInfo.PRCTL_MM_MAP_OFFSET_EXE_FD, (int) exeFd);
        long mapAt = stub.put(map);
        return List.of(new SyscallRun.Call(Syscalls.PRCTL, SystemInfo.PR_SET_MM, SystemInfo.PR_SET_MM_MAP, mapAt,
                SystemInfo.PRCTL_MM_MAP_SIZE, 0), new SyscallRun.Call(Syscalls.CLOSE, exeFd));
    }

    /**
     * chdir, umask, the name, the signal actions, then the resource limits (last: a hard limit above
     * restore's own needs CAP_SYS_RESOURCE, and such a failure only keeps restore's own), their
     * data put in the scratch area. After its execve the stub holds SIG_DFL with no flags, mask or
     * restorer for every signal it did not inherit as ignored: those are skipped (most of the 62).
     */
    private static List<SyscallRun.Call> stateCalls(Stub stub, ProcessState task) throws IOException {
        List<SyscallRun.Call> calls = new ArrayList<>();
        calls.add(new SyscallRun.Call(Syscalls.CHDIR, stub.putString(task.cwd())));
        calls.add(new SyscallRun.Call(Syscalls.UMASK, task.umask()));
        calls.add(new SyscallRun.Call(Syscalls.PRCTL, SystemInfo.PR_SET_NAME, stub.putString(task.comm()), 0, 0, 0));
        long stubIgnored = Long.parseUnsignedLong(statusField(stub.pid(), "SigIgn"), 16);
        for (SigAction a : task.sigactions()) {
            if (a.isDefault() && (stubIgnored >>> (a.signo() - 1) & 1) == 0) {
                continue;
            }
            ByteBuffer act = Stub.struct(KERNEL_SIGACTION_SIZE).putLong(0, a.handler()).putLong(8, a.flags())
                    .putLong(16, a.restorer()).putLong(24, a.mask());
            calls.add(new SyscallRun.Call(Syscalls.RT_SIGACTION, a.signo(), stub.put(act), 0, Ptrace.KERNEL_SIGSET_SIZE));
        }
        List<Rlimit> limits = task.rlimits();
        for (int res = 0; res < limits.size(); res++) {
            ByteBuffer lim = Stub.struct(16).putLong(0, limits.get(res).cur()).putLong(8, limits.get(res).max());
            calls.add(new SyscallRun.Call(Syscalls.PRLIMIT64, 0, res, stub.put(lim), 0));
        }
        return calls;
    }

    /**
     * The results of {@link #stateCalls}: a failed chdir or signal action is a RestoreException; a
     * failed rlimit a warning, and the limits after it (not run) are injected one by one.
     */
    private static void check(Stub stub, ProcessState task, List<SyscallRun.Call> calls, long[] rcs) throws IOException {
        int firstLimit = calls.size() - task.rlimits().size();
        for (int i = 0; i < rcs.length; i++) {
            if (!SyscallRun.failed(rcs[i])) {
                continue;
            }
            int errno = Syscalls.errno(rcs[i]);
            SyscallRun.Call c = calls.get(i);
            if (i == 0) {
                throw new RestoreException("cannot chdir to " + task.cwd() + " for the restored process: "
                        + Errno.name(errno));
            }
            if (i < firstLimit) {
                throw new RestoreException("injected syscall " + c.nr() + "(0x" + Long.toHexString(c.args()[0])
                        + ", ...) in process " + stub.pid() + " failed: " + Errno.name(errno) + " (" + Errno.text(errno) + ")");
            }
            log.warn("restore: rlimit {} not restored ({}): kept restore's own", i - firstLimit, Errno.name(errno));
            for (int j = i + 1; j < calls.size(); j++) { // the run stopped at the failure
                SyscallRun.Call l = calls.get(j);
                long r = stub.raw(l.nr(), l.args());
                if (Syscalls.isError(r)) {
                    log.warn("restore: rlimit {} not restored ({}): kept restore's own", j - firstLimit,
                            Errno.name(Syscalls.errno(r)));
                }
            }
            return;
        }
    }

    private static String statusField(int pid, String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
            if (line.startsWith(name) && line.length() > name.length() && line.charAt(name.length()) == ':') {
                return line.substring(name.length() + 1).trim();
            }
        }
        throw new RestoreException("no " + name + " in /proc/" + pid + "/status");
    }
}
