package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.jni.Buffers;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Pidfd;
import io.lazymig.jni.Poll;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.ReceivedMessage;
import io.lazymig.jni.Registers;
import io.lazymig.jni.SyscallInjector;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.UffdMessage;
import io.lazymig.jni.UffdMessages;
import io.lazymig.jni.UnixSocket;
import io.lazymig.jni.Userfaultfd;
import io.lazymig.jni.WaitStatus;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole mechanism of a lazy restore in miniature: a uffd created INSIDE a child by an injected
 * userfaultfd syscall, pulled out with pidfd_getfd, registered over the child's anonymous memory
 * from here, handed over SCM_RIGHTS (CRIU's pid + fd record) to a serving thread that fills the
 * child's faults, while the child checksums that memory and prints the value we expect.
 */
class UffdInChildIT {
    private static final int PAGES = 256;
    private static final long PAGE = SystemInfo.PAGE_SIZE;

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void childFaultsAreServedThroughAUffdTakenFromIt() throws Exception {
        Path out = tmp.resolve("out.txt");
        String exe = Workloads.path("uffd-target");
        int pid;
        try (FileDescriptor stdout = FileDescriptor.open(out.toString(),
                FileDescriptor.O_WRONLY | FileDescriptor.O_CREAT | FileDescriptor.O_TRUNC, 0644)) {
            pid = Ptrace.spawnTraced(exe, new String[] {exe, Integer.toString(PAGES)}, new String[0], null, stdout,
                    null, Ptrace.DEFAULT_OPTIONS);
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> serverFailure = new AtomicReference<>();
        Thread server = null;
        try {
            // Run to its raise(SIGSTOP): the region is mapped and untouched.
            Ptrace.cont(pid, 0);
            WaitStatus st = Ptrace.waitpid(pid);
            assertTrue(st.stopped() && st.stopSignal() == SystemInfo.SIGSTOP, st.describe());
            Matcher m = Pattern.compile("region 0x([0-9a-f]+) pages (\\d+)").matcher(Files.readString(out));
            assertTrue(m.find(), "uffd-target printed its region");
            long region = Long.parseUnsignedLong(m.group(1), 16);
            long len = PAGES * PAGE;

            // Create the uffd inside the child, take it out, close the child's copy.
            Registers saved = Ptrace.getRegisters(pid);
            SyscallInjector inj = new SyscallInjector(pid, SyscallInjector.findSyscallInstruction(pid));
            long childFd = inj.inject(Syscalls.USERFAULTFD, FileDescriptor.O_CLOEXEC | FileDescriptor.O_NONBLOCK);
            assertTrue(childFd >= 0, "injected userfaultfd: " + childFd);
            FileDescriptor taken;
            try (Pidfd pidfd = Pidfd.open(pid)) {
                taken = pidfd.getfd((int) childFd);
            }
            assertEquals(0, inj.inject(Syscalls.CLOSE, childFd));

            long features = Userfaultfd.FEATURE_EVENT_FORK | Userfaultfd.FEATURE_EVENT_REMAP
                    | Userfaultfd.FEATURE_EVENT_REMOVE | Userfaultfd.FEATURE_EVENT_UNMAP;
            UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM);
            try (Userfaultfd uffd = Userfaultfd.adopt(taken); UnixSocket sending = pair.first()) {
                uffd.api(features);
                long ioctls = uffd.register(region, len, Userfaultfd.REGISTER_MODE_MISSING);
                assertTrue(Userfaultfd.hasIoctl(ioctls, Userfaultfd.IOCTL_COPY));

                UnixSocket receiving = pair.second();
                server = new Thread(() -> {
                    try (receiving) {
                        serve(receiving, region, features, stop);
                    } catch (Throwable e) {
                        serverFailure.set(e);
                    }
                }, "uffd-server");
                server.start();

                // CRIU's record: int32 pid, then one dummy byte carrying the uffd.
                ByteBuffer pidBytes = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putInt(0, pid);
                sending.sendFully(pidBytes);
                ByteBuffer dummy = ByteBuffer.allocateDirect(1);
                sending.send(dummy, new int[] {uffd.fd()});
            } // our copy of the uffd is closed: the server's is the only one left

            Ptrace.setRegisters(pid, saved);
            Ptrace.detach(pid, 0);
            WaitStatus end = Ptrace.waitpid(pid);
            assertTrue(end.exited() && end.exitCode() == 0, end.describe());
            stop.set(true);
            server.join(10_000);
            if (serverFailure.get() != null) {
                throw new AssertionError("server failed", serverFailure.get());
            }
            Matcher sum = Pattern.compile("sum ([0-9a-f]{16})").matcher(Files.readString(out));
            assertTrue(sum.find(), "uffd-target printed its checksum: " + Files.readString(out));
            assertEquals(String.format("%016x", expectedChecksum()), sum.group(1));
        } finally {
            stop.set(true);
            Ptrace.killAndReap(pid);
            if (server != null) {
                server.join(10_000);
            }
        }
    }

    /** Receives the (pid, uffd) record and serves every fault with the page's pattern. */
    private static void serve(UnixSocket socket, long region, long features, AtomicBoolean stop) throws Exception {
        ByteBuffer pidBytes = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        socket.receiveFully(pidBytes);
        ByteBuffer dummy = ByteBuffer.allocateDirect(1);
        FileDescriptor fd;
        try (ReceivedMessage msg = socket.receive(dummy, 1)) {
            assertEquals(1, msg.fdCount(), "one uffd with the record");
            fd = msg.fd(0).dup();
        }
        ByteBuffer page = Buffers.allocatePageAligned((int) PAGE);
        BitSet served = new BitSet(PAGES);
        try (Userfaultfd uffd = Userfaultfd.adopt(fd, features)) {
            Poll poll = new Poll(1);
            poll.set(0, uffd.fd(), Poll.POLLIN);
            UffdMessages batch = new UffdMessages(64);
            while (!stop.get()) {
                if (poll.poll(100) == 0) {
                    continue;
                }
                int n = batch.readFrom(uffd);
                for (int i = 0; i < n; i++) {
                    UffdMessage msg = batch.get(i);
                    if (!msg.isPageFault()) {
                        continue;
                    }
                    long addr = msg.pageFaultAddress() & -PAGE;
                    int index = (int) ((addr - region) / PAGE);
                    fillPage(page, index);
                    long r = uffd.copy(addr, Buffers.address(page), PAGE, 0);
                    if (r != PAGE && r != -Errno.EEXIST) {
                        throw new AssertionError("UFFDIO_COPY at page " + index + " returned " + r);
                    }
                    served.set(index);
                }
            }
        }
        assertEquals(PAGES, served.cardinality(), "every page faulted once and was served");
    }

    private static long word(int page, int index) {
        return (page + 1) * 0x9E3779B97F4A7C15L ^ index * 0xC2B2AE3D27D4EB4FL;
    }

    private static void fillPage(ByteBuffer page, int pageIndex) {
        for (int w = 0; w < PAGE / 8; w++) {
            page.putLong(w * 8, word(pageIndex, w));
        }
    }

    /** The same FNV-1a over 64-bit words as uffd-target.c. */
    private static long expectedChecksum() {
        long h = 0xcbf29ce484222325L;
        for (int p = 0; p < PAGES; p++) {
            for (int w = 0; w < PAGE / 8; w++) {
                h ^= word(p, w);
                h *= 0x100000001b3L;
            }
        }
        return h;
    }
}
