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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process-wide state restore puts back by injected syscalls: the mm fields (PR_SET_MM_MAP),
 * the name, cwd, umask, rlimits and signal actions.
 */
final class ProcessStep implements RestoreStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");
    /** struct kernel_sigaction on x86_64: handler, flags, restorer, mask. */
    private static final int KERNEL_SIGACTION_SIZE = 32;

    @Override
    public String name() {
        return "process state";
    }

    @Override
    public void run(Restoring r) throws IOException {
        restoreMm(r.stub, r.space, r.process.state());
        restoreFsAndLimits(r.stub, r.process.state());
        restoreSignalActions(r.stub, r.process.state());
    }

    /** PR_SET_MM_MAP with the mm fields, auxv and exe (the stub's own exe must be unmapped already). */
    private static void restoreMm(Stub stub, AddressSpace space, ProcessState task) throws IOException {
        MmInfo mm = task.mm();
        long exeFd = space.openFile(task.exePath(), FileDescriptor.O_RDONLY);
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
        try {
            stub.call("prctl(PR_SET_MM_MAP)", Syscalls.PRCTL, SystemInfo.PR_SET_MM, SystemInfo.PR_SET_MM_MAP,
                    mapAt, SystemInfo.PRCTL_MM_MAP_SIZE, 0);
        } finally {
            stub.call("close(exe)", Syscalls.CLOSE, exeFd);
        }
        stub.resetScratch();
        byte[] comm = task.comm().getBytes(StandardCharsets.UTF_8);
        ByteBuffer name = Stub.struct(comm.length + 1).put(comm).put((byte) 0).flip();
        stub.call("prctl(PR_SET_NAME)", Syscalls.PRCTL, SystemInfo.PR_SET_NAME, stub.put(name), 0, 0, 0);
    }

    /** cwd, umask and the resource limits (a hard limit above restore's own needs CAP_SYS_RESOURCE: kept as is then). */
    private static void restoreFsAndLimits(Stub stub, ProcessState task) throws IOException {
        stub.resetScratch();
        long cwd = stub.putString(task.cwd());
        long rc = stub.raw(Syscalls.CHDIR, cwd);
        if (Syscalls.isError(rc)) {
            throw new RestoreException("cannot chdir to " + task.cwd() + " for the restored process: "
                    + Errno.name(Syscalls.errno(rc)));
        }
        stub.call("umask", Syscalls.UMASK, task.umask());
        List<Rlimit> limits = task.rlimits();
        for (int res = 0; res < limits.size(); res++) {
            stub.resetScratch();
            ByteBuffer lim = Stub.struct(16).putLong(0, limits.get(res).cur()).putLong(8, limits.get(res).max());
            long r = stub.raw(Syscalls.PRLIMIT64, 0, res, stub.put(lim), 0);
            if (Syscalls.isError(r)) {
                log.warn("restore: rlimit {} not restored ({}): kept restore's own", res, Errno.name(Syscalls.errno(r)));
            }
        }
    }

    /**
     * The signal actions, by injected rt_sigaction. After its execve the stub holds SIG_DFL with
     * no flags, mask or restorer for every signal it did not inherit as ignored: those are
     * skipped (most of the 62, one injected syscall each).
     */
    private static void restoreSignalActions(Stub stub, ProcessState task) throws IOException {
        long stubIgnored = Long.parseUnsignedLong(statusField(stub.pid(), "SigIgn"), 16);
        for (SigAction a : task.sigactions()) {
            if (a.isDefault() && (stubIgnored >>> (a.signo() - 1) & 1) == 0) {
                continue;
            }
            stub.resetScratch();
            ByteBuffer act = Stub.struct(KERNEL_SIGACTION_SIZE).putLong(0, a.handler()).putLong(8, a.flags())
                    .putLong(16, a.restorer()).putLong(24, a.mask());
            stub.call("rt_sigaction", Syscalls.RT_SIGACTION, a.signo(), stub.put(act), 0,
                    Ptrace.KERNEL_SIGSET_SIZE);
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
