package io.lazymig.restore;

import io.lazymig.images.Creds;
import io.lazymig.images.MmInfo;
import io.lazymig.images.OpenFile;
import io.lazymig.images.Rlimit;
import io.lazymig.images.SigAction;
import io.lazymig.images.Task;
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
 * The per-task state restore puts back by injected syscalls: the mm fields (PR_SET_MM_MAP), the
 * name, cwd, umask, rlimits, open files and signal actions.
 */
final class TaskState {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");
    /** struct kernel_sigaction on x86_64: handler, flags, restorer, mask. */
    private static final int KERNEL_SIGACTION_SIZE = 32;
    /** Where restore's own stdio copies sit in the stub while its fds are rebuilt. */
    private static final int STDIO_PARKING = 1000;

    private final Stub stub;
    private final AddressSpace space;
    private final Task task;
    private final List<OpenFile> files;

    TaskState(Stub stub, AddressSpace space, Task task, List<OpenFile> files) {
        this.stub = stub;
        this.space = space;
        this.task = task;
        this.files = files;
    }

    /** PR_SET_MM_MAP with the mm fields, auxv and exe (the stub's own exe must be unmapped already). */
    void restoreMm() throws IOException {
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
    void restoreProcessState() throws IOException {
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
     * The open files: regular files and /dev/null reopened by path with their flags and offset;
     * terminals are restore's own stdio (like CRIU's --shell-job). Everything else the stub had
     * is closed.
     */
    void restoreFiles() throws IOException {
        // Park restore's stdio (inherited by the stub as 0..2) above the range being rebuilt.
        long[] parked = new long[3];
        for (int i = 0; i < 3; i++) {
            parked[i] = stub.raw(Syscalls.FCNTL, i, Syscalls.F_DUPFD, STDIO_PARKING + i);
            stub.raw(Syscalls.CLOSE, i);
        }
        for (OpenFile f : files) {
            restoreFile(f, parked);
        }
        for (long p : parked) {
            if (!Syscalls.isError(p)) {
                stub.raw(Syscalls.CLOSE, p);
            }
        }
    }

    private void restoreFile(OpenFile f, long[] parked) throws IOException {
        long fd;
        if (f.sharesWith() != OpenFile.OWN) {
            // one open file description with a lower fd (a dup, 2>&1): dup it, so they keep one offset
            stub.call("dup2(" + f.sharesWith() + ", " + f.fd() + ")", Syscalls.DUP2, f.sharesWith(), f.fd());
            stub.call("fcntl(F_SETFD)", Syscalls.FCNTL, f.fd(), Syscalls.F_SETFD, f.closeOnExec() ? Syscalls.FD_CLOEXEC : 0);
            return;
        }
        if (f.kind() == OpenFile.Kind.TTY) {
            long src = parked[Math.min(f.fd(), 2)];
            if (Syscalls.isError(src)) {
                src = firstOpen(parked);
            }
            if (Syscalls.isError(src)) {
                throw new RestoreException("fd " + f.fd() + " was a terminal (" + f.path()
                        + ") and restore has no stdio to hand over");
            }
            fd = stub.call("fcntl(F_DUPFD)", Syscalls.FCNTL, src, Syscalls.F_DUPFD, 0);
        } else {
            int flags = f.flags() & ~(FileDescriptor.O_CREAT | FileDescriptor.O_TRUNC | FileDescriptor.O_EXCL);
            stub.resetScratch();
            long path = stub.putString(f.path());
            fd = stub.raw(Syscalls.OPENAT, Syscalls.AT_FDCWD, path, flags, 0);
            if (Syscalls.isError(fd)) {
                throw new RestoreException("cannot reopen fd " + f.fd() + " (" + f.path() + "): "
                        + Errno.name(Syscalls.errno(fd)) + " (" + Errno.text(Syscalls.errno(fd)) + ")");
            }
        }
        if (fd != f.fd()) {
            stub.call("dup2", Syscalls.DUP2, fd, f.fd());
            stub.call("close", Syscalls.CLOSE, fd);
        }
        if (f.kind() != OpenFile.Kind.TTY) {
            long pos = stub.raw(Syscalls.LSEEK, f.fd(), f.pos(), Syscalls.SEEK_SET);
            if (Syscalls.isError(pos) && f.pos() != 0) {
                throw new RestoreException("cannot seek fd " + f.fd() + " (" + f.path() + ") to " + f.pos() + ": "
                        + Errno.name(Syscalls.errno(pos)));
            }
        }
        stub.call("fcntl(F_SETFD)", Syscalls.FCNTL, f.fd(), Syscalls.F_SETFD, f.closeOnExec() ? Syscalls.FD_CLOEXEC : 0);
    }

    private static long firstOpen(long[] parked) {
        for (long p : parked) {
            if (!Syscalls.isError(p)) {
                return p;
            }
        }
        return -1;
    }

    /**
     * The signal actions, by injected rt_sigaction. After its execve the stub holds SIG_DFL with
     * no flags, mask or restorer for every signal it did not inherit as ignored: those are
     * skipped (most of the 62, one injected syscall each).
     */
    void restoreSignalActions() throws IOException {
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

    /**
     * The identity the process ran with: supplementary groups, then gids, then uids (dropping root
     * last); a non-root uid loses root's capabilities with it, as setresuid does. Root stays root.
     */
    void restoreCreds() throws IOException {
        Creds c = task.creds();
        if (c.uid() == 0 && c.euid() == 0 && c.suid() == 0 && c.fsuid() == 0 && c.gid() == 0 && c.egid() == 0
                && c.groups().isEmpty()) {
            return;
        }
        stub.resetScratch();
        ByteBuffer groups = Stub.struct(Math.max(4, c.groups().size() * 4));
        c.groups().forEach(groups::putInt);
        groups.flip();
        long at = c.groups().isEmpty() ? 0 : stub.put(groups);
        stub.call("setgroups", Syscalls.SETGROUPS, c.groups().size(), at);
        stub.call("setresgid", Syscalls.SETRESGID, c.gid(), c.egid(), c.sgid());
        stub.call("setfsgid", Syscalls.SETFSGID, c.fsgid());
        stub.call("setresuid", Syscalls.SETRESUID, c.uid(), c.euid(), c.suid());
        stub.call("setfsuid", Syscalls.SETFSUID, c.fsuid());
        // Changing ids makes a process non-dumpable; the dumped one was dumpable (ptrace saw it).
        stub.call("prctl(PR_SET_DUMPABLE)", Syscalls.PRCTL, SystemInfo.PR_SET_DUMPABLE, 1, 0, 0, 0);
    }

    private static String statusField(int pid, String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
            if (line.startsWith(name) && line.length() > name.length() && line.charAt(name.length()) == ':') {
                return line.substring(name.length() + 1).trim();
            }
        }
        throw new RestoreException("no " + name + " in /proc/" + pid + "/status");
    }

    /** The robust futex list (only the task itself can register it). */
    void restoreRobustList() throws IOException {
        if (task.robustList().head() != 0) {
            stub.call("set_robust_list", Syscalls.SET_ROBUST_LIST, task.robustList().head(), task.robustList().length());
        }
    }

    /** rseq; it reads the rseq area inside the syscall, so in lazy mode only once faults are served. */
    void restoreRseq() throws IOException {
        if (task.rseq().isRegistered()) {
            stub.call("rseq", Syscalls.RSEQ, task.rseq().abiPointer(), task.rseq().abiSize(), 0, task.rseq().signature());
        }
    }
}
