package io.lazymig.dump;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What lazymig can dump today: one x86_64 process (with any number of threads, none under seccomp)
 * without children, whose fds are regular files, /dev/null, terminals or TCP/UDP/unix sockets (an io_uring, like every
 * anon_inode kind, is refused by its fd). Anything else is refused with one line naming it, before the process is touched (and again once it is
 * frozen, against races).
 */
public final class Preflight {
    private Preflight() {
    }

    /** What a migration or a restore of the dump needs: one process (threads and all), regular files, and the rest. */
    public static void check(int pid) throws IOException {
        check(pid, true);
    }

    /**
     * The check again once the process is frozen, against races: sockets are left to the dump's
     * socket reader, which refuses the same ones with the same words (sparing the frozen time of
     * listing the namespace's sockets twice).
     */
    static void checkFrozen(int pid) throws IOException {
        check(pid, false);
    }

    private static void check(int pid, boolean sockets) throws IOException {
        Path proc = Path.of("/proc", Integer.toString(pid));
        if (pid <= 0 || !Files.isDirectory(proc)) {
            throw new DumpException("no process " + pid);
        }
        if (pid == ProcessHandle.current().pid()) {
            throw new DumpException("process " + pid + " is lazymig itself");
        }
        String children = readOrEmpty(proc.resolve("task").resolve(Integer.toString(pid)).resolve("children")).trim();
        if (!children.isEmpty()) {
            throw new DumpException("process " + pid + " has child processes (" + children
                    + "): process trees are not supported yet");
        }
        for (int tid : tasks(pid)) {
            String refusal = threadRefusal(pid, tid);
            if (refusal != null) {
                throw new DumpException("process " + pid + " " + refusal);
            }
        }
        InetSockets inet = null;
        UnixSockets unix = null;
        for (int fd : openFds(pid)) {
            String target = fdTarget(pid, fd);
            if (SocketReader.isSocket(target)) {
                if (!sockets) {
                    continue;
                }
                String netns = SocketReader.netnsRefusal(pid);
                if (netns != null) {
                    throw new DumpException("process " + pid + " fd " + fd + " is a socket (" + target + ") and the process "
                            + netns);
                }
                if (inet == null) {
                    inet = InetSockets.list();
                }
                long ino = SocketReader.inode(target);
                if (inet.find(ino) != null) {
                    continue;
                }
                if (unix == null) {
                    unix = UnixSockets.list();
                }
                io.lazymig.jni.Sockets.Unix u = unix.find(ino);
                if (u != null) {
                    String no = unix.refusal(u, SocketReader.processSockets(pid));
                    if (no != null) {
                        throw new DumpException("process " + pid + " fd " + fd + " is " + no);
                    }
                    continue;
                }
                if (io.lazymig.jni.Sockets.netlink().stream().anyMatch(n -> n.ino() == ino)) {
                    continue;
                }
                throw new DumpException("process " + pid + " fd " + fd + " is " + SocketReader.refusal(target));
            }
            String kind = unsupportedKind(pid, fd, target);
            if (kind != null) {
                throw new DumpException("process " + pid + " fd " + fd + " is " + kind + " (" + target
                        + "): only regular files, /dev/null, terminals and TCP/UDP, unix and netlink sockets are supported yet");
            }
        }
    }

    /**
     * What makes one thread impossible to restore, or null: a seccomp mode (strict, or a filter, whose
     * BPF programs lazymig neither reads nor installs). "thread TID (NAME) has ...".
     */
    static String threadRefusal(int pid, int tid) throws IOException {
        Path task = Path.of("/proc", Integer.toString(pid), "task", Integer.toString(tid));
        String status;
        try {
            status = Files.readString(task.resolve("status"));
        } catch (NoSuchFileException e) {
            return null; // exited meanwhile: nothing of it is dumped
        }
        ProcStatus st = ProcStatus.parse(status);
        String mode = st.getOrNull("Seccomp");
        if (mode == null || mode.equals("0")) {
            return null;
        }
        String name = st.getOrNull("Name");
        String kind = mode.equals("1") ? "strict" : mode.equals("2") ? "filter" : "mode " + mode;
        return "thread " + tid + (name == null ? "" : " (" + name + ")") + " has seccomp " + kind + " (Seccomp: " + mode
                + "): seccomp is not supported yet";
    }

    /** The thread ids of the process, ascending. */
    static List<Integer> tasks(int pid) throws IOException {
        List<Integer> tids = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc", Integer.toString(pid), "task"))) {
            s.forEach(p -> tids.add(Integer.parseInt(p.getFileName().toString())));
        } catch (NoSuchFileException e) {
            throw new DumpException("no process " + pid);
        }
        tids.sort(null);
        return tids;
    }

    /** The fd numbers open in the process, ascending. */
    public static List<Integer> openFds(int pid) throws IOException {
        List<Integer> fds = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc", Integer.toString(pid), "fd"))) {
            s.forEach(p -> fds.add(Integer.parseInt(p.getFileName().toString())));
        }
        fds.sort(null);
        return fds;
    }

    public static String fdTarget(int pid, int fd) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd))).toString();
    }

    /** null when supported, else a short name of the kind ("a socket", "a pipe", ...). */
    static String unsupportedKind(int pid, int fd, String target) {
        if (target.startsWith("socket:")) {
            return "a socket";
        }
        if (target.startsWith("pipe:")) {
            return "a pipe";
        }
        if (target.startsWith("anon_inode:")) {
            return "an " + target.substring("anon_inode:".length()).replace("[", "").replace("]", "");
        }
        if (!target.startsWith("/")) {
            return "an unsupported kind of file";
        }
        if (target.endsWith(" (deleted)")) {
            return "a deleted file";
        }
        Path viaProc = Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd));
        if (Files.isRegularFile(viaProc) || target.equals("/dev/null") || isTerminal(target)) {
            return null;
        }
        if (Files.isDirectory(viaProc)) {
            return "a directory";
        }
        return "a device or special file";
    }

    static boolean isTerminal(String path) {
        return path.startsWith("/dev/pts/") || path.startsWith("/dev/tty") || path.equals("/dev/console");
    }

    private static String readOrEmpty(Path p) throws IOException {
        try {
            return Files.readString(p);
        } catch (NoSuchFileException e) {
            return "";
        }
    }
}
