package io.lazymig.dump;

import io.lazymig.images.Fifo;
import io.lazymig.images.Pipe;
import io.lazymig.images.PipeBuffer;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Pipes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The reader of pipe ends and FIFOs for one dump. A pipe's buffer is read without consuming it:
 * the pipe is opened anew through /proc/PID/fd/N (read side, non-blocking) and tee(2)'d into a pipe
 * of ours as large as it, whose copy we read; the process still has every byte (CRIU's parasite
 * does the same from inside). Read once per pipe, whatever number of ends point at it.
 *
 * <p>A pipe an outside process holds too (the other end of {@code cmd | tee}, a supervisor's pipe on
 * stdout) is refused, naming the process, the fd and the holder, unless the operator listed it as
 * external ({@code dump --external pipe:[INODE]}); then it is dumped without its data, which stays
 * in the source host's pipe.
 */
final class PipeEnds {
    private Set<Integer> dumped;
    private final Set<String> externals;
    private final boolean migrate;
    private final Map<String, PipeBuffer> buffers = new HashMap<>();
    private PipeHolders holders;
    private TreeFds treeFds;

    /** {@code dumped}: the processes being dumped; {@code externals}: the pipes the operator allowed ("pipe:[N]"). */
    PipeEnds(Set<Integer> dumped, Set<String> externals) {
        this(dumped, externals, false);
    }

    /** {@code migrate}: the refusal names migrate's option rather than dump's and restore's. */
    PipeEnds(Set<Integer> dumped, Set<String> externals, boolean migrate) {
        this.dumped = Set.copyOf(dumped);
        this.externals = Set.copyOf(externals);
        this.migrate = migrate;
    }

    /**
     * The processes being dumped are now {@code pids} (the tree as found, or as frozen): a pipe
     * between two of them is not external. A changed set makes the next question scan /proc again.
     * The tree's fds are read again in any case: this is called once found, and once frozen.
     */
    void setDumped(Set<Integer> pids) {
        treeFds = null;
        if (!pids.equals(dumped)) {
            dumped = Set.copyOf(pids);
            holders = null;
        }
    }

    /** The processes being dumped. */
    Set<Integer> dumped() {
        return dumped;
    }

    /** The fds of the processes being dumped, read at the first question since {@link #setDumped}. */
    TreeFds treeFds() {
        if (treeFds == null) {
            treeFds = new TreeFds(dumped);
        }
        return treeFds;
    }

    /** One end of a pipe: fd {@code fd} of {@code pid}, whose link is {@code target} ("pipe:[N]"). */
    Pipe pipe(int pid, int fd, int id, String target, int flags) throws IOException {
        int pipeId = pipeId(target);
        if (isExternal(pid, fd, target)) {
            return new Pipe(id, pipeId, flags, true, PipeBuffer.NONE);
        }
        return new Pipe(id, pipeId, flags, false, buffer(pid, fd, target));
    }

    /** An open FIFO: fd {@code fd} of {@code pid}, at {@code path}. */
    Fifo fifo(int pid, int fd, int id, String path, int flags) throws IOException {
        Path viaProc = fdPath(pid, fd);
        long ino = ((Number) Files.getAttribute(viaProc, "unix:ino")).longValue();
        int mode = ((Number) Files.getAttribute(viaProc, "unix:mode")).intValue() & 07777;
        return new Fifo(id, (int) ino, path, mode, flags, buffer(pid, fd, "fifo:" + path));
    }

    /** Whether the pipe is allowed external; throws the refusal when an outside process holds it unasked. */
    boolean isExternal(int pid, int fd, String target) throws IOException {
        String refusal = refusal(pid, fd, target);
        if (refusal == null) {
            return false;
        }
        if (externals.contains(target)) {
            return true;
        }
        throw new DumpException(refusal);
    }

    /**
     * Why fd {@code fd} of {@code pid} ("pipe:[N]") cannot be dumped as it is, or null when only the
     * dumped processes hold the pipe. Says which options make it work.
     */
    String refusal(int pid, int fd, String target) throws IOException {
        if (holders == null || !holders.knows(target)) {
            holders = PipeHolders.scan(dumped);
        }
        PipeHolders.Holder h = holders.outsideHolder(target);
        if (h == null) {
            return null;
        }
        String held = "process " + pid + " fd " + fd + " is " + target + ", which " + h + " outside the dump holds too: ";
        if (migrate) {
            return held + "migrate with --inherit-fd 'PATH:" + target + "' to say what it becomes on the destination "
                    + "(bytes unread at the freeze stay in this host's pipe)";
        }
        return held + "dump with --external '" + target + "' to leave it on this host, and restore with --inherit-fd 'fd[N]:"
                + target + "' (or 'PATH:" + target + "') to say what it becomes";
    }

    private PipeBuffer buffer(int pid, int fd, String key) throws IOException {
        PipeBuffer b = buffers.get(key);
        if (b == null) {
            b = readBuffer(pid, fd);
            buffers.put(key, b);
        }
        return b;
    }

    /** The bytes in the buffer of the pipe behind fd {@code fd} of {@code pid}, left in it, and its size. */
    static PipeBuffer readBuffer(int pid, int fd) throws IOException {
        String where = "process " + pid + " fd " + fd;
        try (FileDescriptor src = FileDescriptor.open(fdPath(pid, fd).toString(),
                FileDescriptor.O_RDONLY | FileDescriptor.O_NONBLOCK, 0)) {
            int size = Pipes.size(src);
            int queued = Pipes.queued(src);
            if (queued == 0) {
                return new PipeBuffer(size, new byte[0]);
            }
            try (Pipes.Pair copy = Pipes.create(FileDescriptor.O_NONBLOCK)) {
                Pipes.setSize(copy.write(), size);
                long n = Pipes.tee(src, copy.write(), queued, Pipes.SPLICE_F_NONBLOCK);
                if (n != queued) {
                    throw new DumpException(where + ": copied " + n + " of the " + queued
                            + " bytes in its pipe's buffer (tee)");
                }
                ByteBuffer buf = ByteBuffer.allocateDirect(queued);
                while (buf.hasRemaining()) {
                    if (copy.read().read(buf) == 0) {
                        throw new DumpException(where + ": its pipe's copy ended after " + buf.position() + " of "
                                + queued + " bytes");
                    }
                }
                byte[] bytes = new byte[queued];
                buf.flip().get(bytes);
                return new PipeBuffer(size, bytes);
            }
        } catch (NativeException e) {
            throw new DumpException(where + ": cannot read its pipe's buffer: " + e.getMessage(), e);
        }
    }

    static int pipeId(String target) throws DumpException {
        try {
            long ino = Long.parseLong(target.substring("pipe:[".length(), target.length() - 1));
            if (ino <= 0 || ino > 0xFFFF_FFFFL) {
                throw new NumberFormatException();
            }
            return (int) ino;
        } catch (RuntimeException e) {
            throw new DumpException("unexpected pipe link " + target + " (pipe:[INODE] with a 32-bit inode)");
        }
    }

    static Path fdPath(int pid, int fd) {
        return Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd));
    }

    static boolean isFifo(int pid, int fd) {
        try {
            return (((Number) Files.getAttribute(fdPath(pid, fd), "unix:mode")).intValue() & 0170000) == 0010000;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
