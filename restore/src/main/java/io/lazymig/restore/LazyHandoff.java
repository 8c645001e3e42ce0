package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.Vma;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Pidfd;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lazy half of restore: a userfaultfd created inside the stub, taken out with pidfd_getfd,
 * registered over the lazy VMAs, and handed to the lazy-pages daemon with CRIU's records (int32
 * pid, then one byte carrying the uffd; after all tasks the RESTORE_FINISHED word).
 *
 * <p>The guard (KERNEL-FACTS §6): restore keeps its own copy of the uffd until the daemon reports
 * the process complete by sending back its pid (int32) — lazymig's extension of the protocol.
 * If the daemon's connection drops first, the copy keeps the process's faults pending (it blocks
 * instead of reading zero pages), and restore hands the uffd to the next daemon that listens on
 * the same address; if none comes before the deadline, it kills the process.
 */
public final class LazyHandoff implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    private final int imagePid;
    private final int pid;
    private final Userfaultfd uffd;
    private final Path address;
    private UnixSocket daemon;

    private LazyHandoff(int imagePid, int pid, Userfaultfd uffd, Path address) {
        this.imagePid = imagePid;
        this.pid = pid;
        this.uffd = uffd;
        this.address = address;
    }

    /** Creates and registers the uffd in the stub and hands it to the daemon at {@code address}. */
    static LazyHandoff handOver(Stub stub, Checkpoint cp, Path address) throws IOException {
        long childFd = stub.call("userfaultfd", Syscalls.USERFAULTFD, FileDescriptor.O_CLOEXEC | FileDescriptor.O_NONBLOCK);
        FileDescriptor taken;
        try (Pidfd pidfd = Pidfd.open(stub.pid())) {
            taken = pidfd.getfd((int) childFd);
        } finally {
            stub.call("close(uffd)", Syscalls.CLOSE, childFd);
        }
        Userfaultfd uffd = Userfaultfd.adopt(taken);
        LazyHandoff h = new LazyHandoff(cp.root().pid(), stub.pid(), uffd, address);
        try {
            long missing = UffdHandoff.FEATURES & ~Userfaultfd.supportedFeatures();
            uffd.api(UffdHandoff.FEATURES & Userfaultfd.supportedFeatures());
            if (missing != 0) {
                log.warn("restore: kernel lacks userfaultfd features 0x{}", Long.toHexString(missing));
            }
            for (Vma v : cp.vmas()) {
                if (v.canBeLazy() && hasLazyPages(cp, v)) {
                    long ioctls = uffd.register(v.start(), v.length(), Userfaultfd.REGISTER_MODE_MISSING);
                    if (!Userfaultfd.hasIoctl(ioctls, Userfaultfd.IOCTL_COPY)
                            || !Userfaultfd.hasIoctl(ioctls, Userfaultfd.IOCTL_ZEROPAGE)) {
                        throw new RestoreException("userfaultfd over " + v + " offers no COPY/ZEROPAGE");
                    }
                }
            }
            h.connectAndSend();
            return h;
        } catch (IOException | RuntimeException e) {
            h.close();
            throw e;
        }
    }

    private static boolean hasLazyPages(Checkpoint cp, Vma v) {
        for (PagemapIov iov : cp.pagemap().iovs()) {
            if (iov.isLazy() && Long.compareUnsigned(iov.vaddr(), v.end()) < 0 && Long.compareUnsigned(v.start(), iov.end()) < 0) {
                return true;
            }
        }
        return false;
    }

    private void connectAndSend() throws IOException {
        try {
            daemon = UnixSocket.connect(address);
        } catch (NativeException e) {
            throw new RestoreException("no lazy-pages daemon at " + address + " (" + e.getMessage()
                    + "): start 'lazymig lazy-pages --address " + address + " -D DIR' first", e);
        }
        daemon.sendFully(word(imagePid));
        daemon.send(ByteBuffer.allocateDirect(1), new int[] {uffd.fd()});
    }

    /**
     * Hands this guard to another process (restore -d: the guard must outlive restore): sends the
     * pids and address as text, and the uffd plus the daemon connection as SCM_RIGHTS, over
     * {@code to}. This object is closed afterwards.
     */
    public void transferTo(UnixSocket to) throws IOException {
        shareWith(to);
        close();
    }

    /**
     * As {@link #transferTo}, but this object stays open: the receiver holds copies of the uffd and
     * of the daemon connection from now on, so the process stays guarded if this process dies (the
     * agent: a guard process takes the copies before the restored process is released). Restore
     * still sends RESTORE_FINISHED on its copy, then closes it; only the receiver waits for the
     * daemon's completion report.
     */
    public void shareWith(UnixSocket to) throws IOException {
        byte[] text = (imagePid + " " + pid + " " + address + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocateDirect(text.length);
        b.put(text).flip();
        to.send(b, new int[] {uffd.fd(), daemon.fd().fd()});
    }

    /** The receiving end of {@link #transferTo}: a guard for the restored process, ready to {@link #guard}. */
    public static LazyHandoff receiveFrom(UnixSocket from) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(4096);
        try (io.lazymig.jni.ReceivedMessage m = from.receive(b, 2)) {
            if (m.fdCount() != 2) {
                throw new RestoreException("guard hand-over without the uffd and daemon connection");
            }
            b.flip();
            byte[] text = new byte[b.remaining()];
            b.get(text);
            String[] f = new String(text, java.nio.charset.StandardCharsets.UTF_8).trim().split(" ", 3);
            LazyHandoff h = new LazyHandoff(Integer.parseInt(f[0]), Integer.parseInt(f[1]),
                    Userfaultfd.adopt(m.fd(0).dup(), UffdHandoff.FEATURES), Path.of(f[2]));
            h.daemon = UnixSocket.adopt(m.fd(1).dup());
            return h;
        }
    }

    /** Tells the daemon every task is restored (after the processes run). */
    void restoreFinished() throws IOException {
        daemon.sendFully(word(UffdHandoff.RESTORE_FINISHED));
    }

    /** The restored process's pid. */
    public int pid() {
        return pid;
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
                log.info("restore: process {} has all its pages", pid);
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
                            + "than left on missing pages", address, deadline.toSeconds(), pid);
                    killRestored();
                    close();
                    return false;
                }
            }
        }
    }

    private void awaitCompletion() throws IOException {
        ByteBuffer reply = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        while (true) {
            reply.clear();
            daemon.receiveFully(reply);
            int who = reply.getInt(0);
            if (who == imagePid) {
                return;
            }
            log.debug("restore: daemon reported {}, not ours", who);
        }
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
                log.warn("restore: handed process {} to a new lazy-pages daemon at {}", pid, address);
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

    private boolean alive() {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private void killRestored() {
        try {
            SystemInfo.kill(pid, SystemInfo.SIGKILL);
        } catch (NativeException ignored) {
            // already gone
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
        uffd.close();
        if (daemon != null) {
            daemon.close();
        }
    }
}
