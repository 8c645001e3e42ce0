package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.Vma;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Pidfd;
import io.lazymig.jni.SyscallBatch;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.UffdHandoff;
import io.lazymig.jni.UnixSocket;
import io.lazymig.jni.Userfaultfd;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lazy half of restore: per process of the tree, a userfaultfd created inside its stub, taken
 * out with pidfd_getfd, registered over its lazy VMAs, and handed to the one lazy-pages daemon on
 * one connection with CRIU's records (int32 pid, then one byte carrying the uffd; a zombie's
 * negated pid alone; after all tasks the RESTORE_FINISHED word).
 *
 * <p>The guard (KERNEL-FACTS §6): restore keeps its own copy of each uffd until the daemon reports
 * every process complete by sending back each pid (int32) — lazymig's extension of the protocol.
 * If the daemon's connection drops first, the copy keeps the process's faults pending (it blocks
 * instead of reading zero pages), and restore hands the uffd to the next daemon that listens on
 * the same address; if none comes before the deadline, it kills the process.
 */
public final class LazyHandoff implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    /** One task handed over: its pid in the images and here, and its uffd (null: a zombie, sent as -pid). */
    private record Task(int imagePid, int pid, Userfaultfd uffd) {
    }

    private final List<Task> tasks = new ArrayList<>();
    private final Path address;
    /** The socket inodes of the TCP connections restored alive: back in repair mode before a kill. */
    private Set<Long> connections = Set.of();
    private UnixSocket daemon;

    private LazyHandoff(Path address) {
        this.address = address;
    }

    /** Creates and registers the uffd in the stub and hands it to the daemon at {@code address}. */
    static LazyHandoff handOver(Stub stub, Checkpoint cp, Path address) throws IOException {
        LazyHandoff h = new LazyHandoff(address);
        try {
            h.add(stub, cp.root());
            return h;
        } catch (IOException | RuntimeException e) {
            h.close();
            throw e;
        }
    }

    /** A handoff of a tree, to the daemon at {@code address}: each process is then {@link #add added} on the one connection. */
    static LazyHandoff forTree(Path address) {
        return new LazyHandoff(address);
    }

    /**
     * Creates and registers the uffd of {@code process} (restored in {@code stub}) and sends its
     * record (its image pid, then the uffd) to the daemon, connecting at the first.
     */
    void add(Stub stub, ProcessImage process) throws IOException {
        long childFd = stub.call("userfaultfd", Syscalls.USERFAULTFD, FileDescriptor.O_CLOEXEC | FileDescriptor.O_NONBLOCK);
        FileDescriptor taken;
        try (Pidfd pidfd = Pidfd.open(stub.pid())) {
            taken = pidfd.getfd((int) childFd);
        } finally {
            stub.call("close(uffd)", Syscalls.CLOSE, childFd);
        }
        add(stub.pid(), process, taken);
    }

    /**
     * {@link #add} for every process of {@code stubs} (a tree's, parents first): their uffds created in
     * one round of stops and closed in another, instead of two rounds a process one after another
     * (make bench, a tree of 4: 8 rounds at 0.1-2 ms each on a busy host).
     */
    void addAll(List<Stub> stubs, List<ProcessImage> processes) throws IOException {
        List<SyscallBatch.Call> creates = new ArrayList<>(stubs.size());
        for (Stub s : stubs) {
            creates.add(s.in(s.pid(), FileDescriptor.O_CLOEXEC | FileDescriptor.O_NONBLOCK));
        }
        long[] fds = SyscallBatch.inject(Syscalls.USERFAULTFD, creates);
        FileDescriptor[] taken = new FileDescriptor[stubs.size()];
        List<SyscallBatch.Call> closes = new ArrayList<>(stubs.size());
        List<Stub> closing = new ArrayList<>(stubs.size());
        IOException failure = null;
        for (int i = 0; i < stubs.size(); i++) {
            Stub s = stubs.get(i);
            s.counted(1);
            if (Syscalls.isError(fds[i])) {
                int errno = Syscalls.errno(fds[i]);
                failure = failure != null ? failure : new RestoreException("injected userfaultfd in process " + s.pid()
                        + " failed: " + io.lazymig.jni.Errno.name(errno) + " (" + io.lazymig.jni.Errno.text(errno) + ")");
                continue;
            }
            closes.add(s.in(s.pid(), fds[i]));
            closing.add(s);
            if (failure == null) {
                try (Pidfd pidfd = Pidfd.open(s.pid())) {
                    taken[i] = pidfd.getfd((int) fds[i]);
                } catch (IOException e) {
                    failure = e;
                }
            }
        }
        try {
            if (!closes.isEmpty()) {
                long[] rcs = SyscallBatch.inject(Syscalls.CLOSE, closes);
                for (int i = 0; i < rcs.length; i++) {
                    closing.get(i).counted(1);
                    if (Syscalls.isError(rcs[i]) && failure == null) {
                        failure = new RestoreException("injected close(uffd) in process " + closing.get(i).pid() + " failed: "
                                + io.lazymig.jni.Errno.name(Syscalls.errno(rcs[i])));
                    }
                }
            }
        } catch (IOException e) {
            failure = failure != null ? failure : e;
        }
        if (failure != null) {
            for (FileDescriptor f : taken) {
                if (f != null) {
                    f.close();
                }
            }
            throw failure;
        }
        for (int i = 0; i < stubs.size(); i++) {
            add(stubs.get(i).pid(), processes.get(i), taken[i]);
        }
    }

    /** The rest of {@link #add}: {@code taken}, restore's copy of the process's uffd, set up and sent. */
    private void add(int pid, ProcessImage process, FileDescriptor taken) throws IOException {
        Userfaultfd uffd = Userfaultfd.adopt(taken);
        Task t = new Task(process.pid(), pid, uffd);
        tasks.add(t);
        long missing = UffdHandoff.FEATURES & ~Userfaultfd.supportedFeatures();
        uffd.api(UffdHandoff.FEATURES & Userfaultfd.supportedFeatures());
        if (missing != 0) {
            log.warn("restore: kernel lacks userfaultfd features 0x{}", Long.toHexString(missing));
        }
        for (Vma v : process.vmas()) {
            if (v.canBeLazy() && hasLazyPages(process, v)) {
                long ioctls = uffd.register(v.start(), v.length(), Userfaultfd.REGISTER_MODE_MISSING);
                if (!Userfaultfd.hasIoctl(ioctls, Userfaultfd.IOCTL_COPY)
                        || !Userfaultfd.hasIoctl(ioctls, Userfaultfd.IOCTL_ZEROPAGE)) {
                    throw new RestoreException("userfaultfd over " + v + " offers no COPY/ZEROPAGE");
                }
            }
        }
        if (daemon == null) {
            connect();
        }
        send(t);
    }

    /** Whether no task has been added yet. */
    boolean isEmpty() {
        return tasks.isEmpty();
    }

    /** A zombie of the tree: its record is its negated pid and nothing more (CRIU's). */
    void addZombie(int imagePid) throws IOException {
        Task t = new Task(imagePid, 0, null);
        tasks.add(t);
        if (daemon == null) {
            connect();
        }
        send(t);
    }

    private static boolean hasLazyPages(ProcessImage process, Vma v) {
        for (PagemapIov iov : process.pagemap().iovs()) {
            if (iov.isLazy() && Long.compareUnsigned(iov.vaddr(), v.end()) < 0 && Long.compareUnsigned(v.start(), iov.end()) < 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * The daemon's socket path exists from its bind, a moment before its listen: a connect in
     * between is refused. So a refusal is tried again for up to {@link #REFUSED_PATIENCE_NANOS}
     * (a restore started before the daemon waits for the path, then connects at once); a path that
     * goes on refusing is a daemon that died and left it.
     */
    private void connect() throws IOException {
        long end = System.nanoTime() + REFUSED_PATIENCE_NANOS;
        while (true) {
            try {
                daemon = UnixSocket.connect(address);
                return;
            } catch (NativeException e) {
                if (e.errno() != io.lazymig.jni.Errno.ECONNREFUSED || System.nanoTime() >= end) {
                    throw new RestoreException("no lazy-pages daemon at " + address + " (" + e.getMessage()
                            + "): start 'lazymig lazy-pages --address " + address + " -D DIR' first", e);
                }
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RestoreException("interrupted while connecting to the lazy-pages daemon at " + address, e);
            }
        }
    }

    /** How long a refused connect to the daemon's path is tried again. */
    private static final long REFUSED_PATIENCE_NANOS = 1_000_000_000L;

    private void send(Task t) throws IOException {
        if (t.uffd() == null) {
            daemon.sendFully(word(-t.imagePid()));
            return;
        }
        daemon.sendFully(word(t.imagePid()));
        daemon.send(ByteBuffer.allocateDirect(1), new int[] {t.uffd().fd()});
    }

    /** Connects to the daemon at the address and sends every task's record again (a takeover). */
    private void connectAndSend() throws IOException {
        connect();
        for (Task t : tasks) {
            send(t);
        }
    }

    /**
     * Hands this guard to another process (restore -d: the guard must outlive restore): sends the
     * pids and address as text, and the uffds plus the daemon connection as SCM_RIGHTS, over
     * {@code to}. This object is closed afterwards.
     */
    public void transferTo(UnixSocket to) throws IOException {
        shareWith(to);
        close();
    }

    /**
     * As {@link #transferTo}, but this object stays open: the receiver holds copies of the uffds and
     * of the daemon connection from now on, so the processes stay guarded if this process dies (the
     * agent: a guard process takes the copies before the restored processes are released). Restore
     * still sends RESTORE_FINISHED on its copy, then closes it; only the receiver waits for the
     * daemon's completion reports. Text: "address" then one line "IMAGEPID PID" per task (PID 0: a
     * zombie), then one line "tcp INODE" per connection restored alive; fds: the live tasks' uffds in
     * that order, then the daemon connection.
     */
    public void shareWith(UnixSocket to) throws IOException {
        StringBuilder sb = new StringBuilder(address.toString()).append('\n');
        List<Integer> fds = new ArrayList<>();
        for (Task t : tasks) {
            sb.append(t.imagePid()).append(' ').append(t.pid()).append('\n');
            if (t.uffd() != null) {
                fds.add(t.uffd().fd());
            }
        }
        for (long ino : connections) {
            sb.append("tcp ").append(ino).append('\n');
        }
        fds.add(daemon.fd().fd());
        byte[] text = sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocateDirect(text.length);
        b.put(text).flip();
        to.send(b, fds.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * A hand-over of one made-up task to this JVM itself, over a socketpair, received by
     * {@link #receiveFrom} and closed (its "uffd" and "daemon connection" are copies of the pair's
     * own socket): a guard JVM idle until its one real hand-over then takes it with the classes it
     * needs loaded and initialised and the code run once, while the agent waits for its
     * acknowledgement before it releases the process (1-11 ms in make bench).
     */
    public static void rehearseReceive() throws IOException {
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            byte[] text = "/rehearsal\n1 1\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocateDirect(text.length);
            b.put(text).flip();
            int self = pair.first().fd().fd();
            pair.first().send(b, new int[] {self, self});
            receiveFrom(pair.second()).close();
            pair.second().sendFully(ByteBuffer.allocateDirect(1));
            pair.first().receiveFully(ByteBuffer.allocateDirect(1));
        }
    }

    /** The receiving end of {@link #transferTo}: a guard for the restored processes, ready to {@link #guard}. */
    public static LazyHandoff receiveFrom(UnixSocket from) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(64 * 1024);
        try (io.lazymig.jni.ReceivedMessage m = from.receive(b, UnixSocket.MAX_FDS)) {
            b.flip();
            byte[] text = new byte[b.remaining()];
            b.get(text);
            String[] lines = new String(text, java.nio.charset.StandardCharsets.UTF_8).trim().split("\n");
            LazyHandoff h = new LazyHandoff(Path.of(lines[0]));
            int fd = 0;
            Set<Long> connections = new HashSet<>();
            for (int i = 1; i < lines.length; i++) {
                String[] f = lines[i].trim().split(" ");
                if (f[0].equals("tcp")) {
                    connections.add(Long.parseLong(f[1]));
                    continue;
                }
                int pid = Integer.parseInt(f[1]);
                if (pid == 0) {
                    h.tasks.add(new Task(Integer.parseInt(f[0]), 0, null));
                    continue;
                }
                if (fd >= m.fdCount()) {
                    throw new RestoreException("guard hand-over without the uffd of process " + f[0]);
                }
                h.tasks.add(new Task(Integer.parseInt(f[0]), pid, Userfaultfd.adopt(m.fd(fd++).dup(), UffdHandoff.FEATURES)));
            }
            if (fd + 1 != m.fdCount() || h.tasks.isEmpty()) {
                h.close();
                throw new RestoreException("guard hand-over with " + m.fdCount() + " fds for " + fd
                        + " uffds and the daemon connection");
            }
            h.daemon = UnixSocket.adopt(m.fd(fd).dup());
            h.connections = Set.copyOf(connections);
            return h;
        }
    }

    /**
     * The TCP connections restored alive (their socket inodes): should the guard kill the processes,
     * it puts them back in repair mode first ({@link SilentConnections}), so the peers see nothing
     * and the source may resume them.
     */
    void guardConnections(Set<Long> inodes) {
        connections = Set.copyOf(inodes);
    }

    /** Tells the daemon every task is restored (after the processes run). */
    void restoreFinished() throws IOException {
        daemon.sendFully(word(UffdHandoff.RESTORE_FINISHED));
    }

    /** The restored root's pid (the first task's). */
    public int pid() {
        return tasks.get(0).pid();
    }

    /**
     * Blocks until the daemon reports the process complete (then the guard's uffd copy is closed)
     * or the process has exited; returns true then. A dropped daemon is replaced by the next one
     * listening at the address; if none comes within {@code deadline}, the process is killed and
     * this returns false, having logged why as an error first: whoever waits for the process wakes
     * up at the kill and may exit at once, so the line must already be out.
     */
    public boolean guard(Duration deadline) throws IOException {
        while (true) {
            try {
                awaitCompletion();
                log.info("restore: process {} has all its pages{}", pid(), tasks.size() > 1 ? ", with its tree" : "");
                close();
                return true;
            } catch (EOFException | NativeException e) {
                if (!alive()) {
                    close();
                    return true;
                }
                log.warn("restore: lazy-pages daemon at {} went away ({}); waiting up to {} s for another",
                        address, e.getMessage(), deadline.toSeconds());
                daemon.close();
                if (!reconnect(deadline)) {
                    log.error("restore: no lazy-pages daemon came back at {} within {} s: process {} killed rather "
                            + "than left on missing pages", address, deadline.toSeconds(), who());
                    killRestored();
                    close();
                    return false;
                }
            }
        }
    }

    /** Waits until the daemon has reported every live task complete (its image pid, one word each). */
    private void awaitCompletion() throws IOException {
        ByteBuffer reply = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        java.util.Set<Integer> waiting = new java.util.HashSet<>();
        for (Task t : tasks) {
            if (t.uffd() != null) {
                waiting.add(t.imagePid());
            }
        }
        while (!waiting.isEmpty()) {
            reply.clear();
            daemon.receiveFully(reply);
            int who = reply.getInt(0);
            if (!waiting.remove(who)) {
                log.debug("restore: daemon reported {}, not one still waited for", who);
            }
        }
    }

    /** The restored processes' pids here (zombies left out). */
    private List<Integer> pids() {
        List<Integer> out = new ArrayList<>();
        for (Task t : tasks) {
            if (t.uffd() != null) {
                out.add(t.pid());
            }
        }
        return out;
    }

    private boolean reconnect(Duration deadline) throws IOException {
        long end = System.nanoTime() + deadline.toNanos();
        while (System.nanoTime() < end) {
            if (!alive()) {
                return true;
            }
            try {
                connectAndSend();
                restoreFinished();
                log.warn("restore: handed process {} to a new lazy-pages daemon at {}", who(), address);
                return true;
            } catch (IOException e) {
                // Nobody listens yet, or the new daemon went away during the handshake: try again.
                if (daemon != null) {
                    daemon.close();
                }
                sleep(Duration.ofMillis(100));
            }
        }
        return false;
    }

    /** "PID", or "PID, PID, ..." for a tree, for the log. */
    private String who() {
        StringBuilder b = new StringBuilder();
        for (int pid : pids()) {
            b.append(b.length() == 0 ? "" : ", ").append(pid);
        }
        return b.toString();
    }

    /** Whether any restored process still runs. */
    private boolean alive() {
        for (int pid : pids()) {
            if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                return true;
            }
        }
        return false;
    }

    private void killRestored() {
        for (int pid : pids()) {
            SilentConnections.silence(pid, connections);
            try {
                SystemInfo.kill(pid, SystemInfo.SIGKILL);
            } catch (NativeException ignored) {
                // already gone
            }
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static ByteBuffer word(int v) {
        ByteBuffer b = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        b.putInt(0, v);
        return b;
    }

    @Override
    public void close() {
        for (Task t : tasks) {
            if (t.uffd() != null) {
                t.uffd().close();
            }
        }
        if (daemon != null) {
            daemon.close();
        }
    }
}
