package io.lazymig.dump;

import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import io.lazymig.images.TreeIds;
import java.util.stream.Stream;

/**
 * What lazymig can dump today: an x86_64 process and its descendants (with any number of threads,
 * none under seccomp), whose fds are regular files, /dev/null, the char devices a runtime opens,
 * terminals, pipes (an outside process holding one too only when allowed: dump --external), FIFOs,
 * event fds (eventfd, timerfd, signalfd, inotify, epoll over those) or TCP/UDP, unix and netlink
 * sockets (an io_uring, like every other anon_inode kind, is refused by its fd). Anything else is
 * refused with one line naming it, before the process is touched (and again once it is
 * frozen, against races).
 */
public final class Preflight {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("lazymig.dump");

    private Preflight() {
    }

    /** What a migration or a restore of the dump needs of one process of the tree: its threads, regular files, and the rest. */
    public static void check(int pid) throws IOException {
        check(pid, new PipeEnds(Set.of(pid), Set.of()));
    }

    /** {@link #check(int)} with the pipe reader of the dump (one scan of /proc for pipe holders, the tree's pids set). */
    static void check(int pid, PipeEnds pipes) throws IOException {
        check(pid, pipes, true);
    }

    /**
     * The check again once the process is frozen, against races: sockets are left to the dump's
     * socket reader, which refuses the same ones with the same words (sparing the frozen time of
     * listing the namespace's sockets twice). {@code maps}: the process's VMAs as the dump read them
     * once frozen, not read again here (100 threads' stacks and guards are 200 more lines to parse).
     */
    static void checkFrozen(int pid, PipeEnds pipes, List<MapsEntry> maps) throws IOException {
        check(pid, pipes, false, maps);
    }

    private static void check(int pid, PipeEnds pipes, boolean sockets) throws IOException {
        check(pid, pipes, sockets, null);
    }

    private static void check(int pid, PipeEnds pipes, boolean sockets, List<MapsEntry> maps) throws IOException {
        Path proc = Path.of("/proc", Integer.toString(pid));
        if (pid <= 0 || !Files.isDirectory(proc)) {
            throw new DumpException("no process " + pid);
        }
        if (pid == ProcessHandle.current().pid()) {
            throw new DumpException("process " + pid + " is lazymig itself");
        }
        long t0 = System.nanoTime();
        List<Integer> tids = tasks(pid);
        String seccomp = ThreadSeccomp.firstRefusal(pid, tids);
        if (seccomp != null) {
            throw new DumpException("process " + pid + " " + seccomp);
        }
        if (log.isDebugEnabled()) {
            log.debug("dump: preflight of process {}: seccomp of {} threads {} us", pid, tids.size(),
                    (System.nanoTime() - t0) / 1000);
        }
        // the refusal needs no VmFlags (maps: no page walk)
        for (MapsEntry m : maps != null ? maps : ProcSmaps.readMaps(pid)) {
            String refusal = VmaClassifier.shmemRefusal(m);
            if (refusal != null) {
                throw new DumpException("process " + pid + " has " + refusal);
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
                    String no = unix.refusal(u, pipes.treeFds().sockets());
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
                        + "): " + SUPPORTED);
            }
            if (target.equals(EventFdKinds.EPOLL)) {
                checkEpollTargets(pid, fd);
            }
            if (target.startsWith("pipe:")) {
                pipes.isExternal(pid, fd, target);
            }
        }
    }

    /** What the refusal of an fd says is supported. */
    static final String SUPPORTED = "only regular files, /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, "
            + "terminals, pipes, FIFOs, memfds, eventfds, timerfds, signalfds, inotify, epoll and TCP/UDP, unix and "
            + "netlink sockets are supported yet";

    /**
     * An epoll whose watched fds are not all of kinds lazymig restores is refused, naming the watched fd.
     * A watched socket is let through here: it is an fd of the same table, refused or dumped there.
     */
    static void checkEpollTargets(int pid, int epfd) throws IOException {
        String info;
        try {
            info = ProcText.read(Path.of("/proc", Integer.toString(pid), "fdinfo", Integer.toString(epfd)));
        } catch (NoSuchFileException e) {
            return; // closed meanwhile
        }
        for (io.lazymig.images.EpollWatch w : EpollReader.watches(new FdInfoLines("process " + pid + " fd " + epfd
                + " (epoll)", info))) {
            String target;
            try {
                target = fdTarget(pid, w.fd());
            } catch (NoSuchFileException e) {
                throw FdTableReader.staleWatch(pid, epfd, w.fd(), false);
            }
            // a watched socket is checked as an fd of the table itself (the same fd, watched here)
            String kind = target.startsWith("socket:") ? null : unsupportedKind(pid, w.fd(), target);
            if (kind != null) {
                throw new DumpException("process " + pid + " fd " + epfd + " (epoll) watches fd " + w.fd() + ", which is "
                        + kind + " (" + target + "): " + SUPPORTED);
            }
            if (!SystemInfo.epollWatchesFileAt(pid, epfd, w.fd(), w.fd())) {
                throw FdTableReader.staleWatch(pid, epfd, w.fd(), true);
            }
        }
    }

    /**
     * {@link #check} for {@code pid} and every descendant (walked through /proc while they run: the
     * dump checks again once they are frozen), and whether restore can rebuild their sessions and
     * groups ({@link #refuseTreeIds}). Returns the tree's nodes, root first.
     */
    public static List<TreeIds.Node> checkTree(int pid) throws IOException {
        return checkTree(pid, Set.of(), false);
    }

    /**
     * {@link #checkTree(int)}, where the pipes named in {@code externals} ("pipe:[INODE]") may have their
     * other end outside the tree (dump --external); {@code migrate}: refusals name migrate's options.
     */
    public static List<TreeIds.Node> checkTree(int pid, Set<String> externals, boolean migrate) throws IOException {
        return checkTree(pid, new PipeEnds(Set.of(pid), externals, migrate));
    }

    /** {@link #checkTree(int)} with the dump's pipe reader, told the tree's pids. */
    static List<TreeIds.Node> checkTree(int pid, PipeEnds pipes) throws IOException {
        List<TreeIds.Node> nodes = treeNodes(pid);
        pipes.setDumped(nodes.stream().map(TreeIds.Node::pid).collect(java.util.stream.Collectors.toSet()));
        for (TreeIds.Node n : nodes) {
            if (!isZombie(n.pid())) {
                check(n.pid(), pipes);
            }
        }
        refuseTreeIds(pid, nodes);
        return nodes;
    }

    private static boolean isZombie(int pid) throws IOException {
        String stat = readOrEmpty(Path.of("/proc", Integer.toString(pid), "stat"));
        return stat.isEmpty() || stat.substring(stat.lastIndexOf(')') + 1).trim().startsWith("Z");
    }

    /** {@code pid} and its descendants as /proc shows them now, parents first. */
    private static List<TreeIds.Node> treeNodes(int pid) throws IOException {
        List<TreeIds.Node> nodes = new ArrayList<>();
        List<Integer> queue = new ArrayList<>(List.of(pid));
        List<Integer> parents = new ArrayList<>(List.of(0));
        for (int i = 0; i < queue.size(); i++) {
            int p = queue.get(i);
            String stat;
            try {
                stat = ProcText.read(Path.of("/proc", Integer.toString(p), "stat"));
            } catch (NoSuchFileException e) {
                if (p == pid) {
                    throw new DumpException("no process " + pid);
                }
                continue; // exited and reaped meanwhile
            }
            String[] f = stat.substring(stat.lastIndexOf(')') + 1).trim().split("\\s+");
            nodes.add(new TreeIds.Node(p, parents.get(i), Integer.parseInt(f[5 - 3]), Integer.parseInt(f[6 - 3])));
            if (f[0].equals("Z")) {
                continue;
            }
            for (int tid : tasks(p)) {
                String children = readOrEmpty(Path.of("/proc", Integer.toString(p), "task", Integer.toString(tid),
                        "children")).trim();
                for (String c : children.isEmpty() ? new String[0] : children.split("\\s+")) {
                    int child = Integer.parseInt(c);
                    if (!queue.contains(child)) {
                        queue.add(child);
                        parents.add(p);
                    }
                }
            }
        }
        return nodes;
    }

    /** Refuses a tree whose sessions and groups restore cannot rebuild, naming the process at fault. */
    static void refuseTreeIds(int pid, List<TreeIds.Node> nodes) throws DumpException {
        String refusal = TreeIds.refusal(nodes);
        if (refusal != null) {
            throw new DumpException("process " + pid + " has a tree restore cannot rebuild: " + refusal);
        }
    }

    /** {@link ThreadSeccomp#refusal} of one thread (tests, and one-off callers). */
    static String threadRefusal(int pid, int tid) throws IOException {
        return new ThreadSeccomp().refusal(pid, tid);
    }

    /** The thread ids of the process, ascending. */
    static List<Integer> tasks(int pid) throws IOException {
        List<Integer> tids = taskIds(pid);
        if (tids == null) {
            throw new DumpException("no process " + pid);
        }
        return tids;
    }

    /** The thread ids in /proc/PID/task, ascending, or null when the process is gone (no stream: used inside the freeze). */
    static List<Integer> taskIds(int pid) {
        String[] names = new java.io.File("/proc/" + pid + "/task").list();
        if (names == null) {
            return null;
        }
        List<Integer> tids = new ArrayList<>(names.length);
        for (String n : names) {
            tids.add(Integer.parseInt(n));
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
            return null;
        }
        if (EventFdKinds.supported(target)) {
            return null;
        }
        if (target.startsWith("anon_inode:")) {
            return "an " + target.substring("anon_inode:".length()).replace("[", "").replace("]", "");
        }
        if (!target.startsWith("/")) {
            return "an unsupported kind of file";
        }
        if (target.startsWith("/memfd:") && target.endsWith(" (deleted)")) {
            return null; // its content is dumped once as a shmem object (ShmemReader)
        }
        if (target.endsWith(" (deleted)")) {
            return "a deleted file";
        }
        Path viaProc = Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd));
        if (Files.isRegularFile(viaProc) || target.equals("/dev/null") || isTerminal(target) || PipeEnds.isFifo(pid, fd)) {
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
            return ProcText.read(p);
        } catch (NoSuchFileException e) {
            return "";
        }
    }
}
