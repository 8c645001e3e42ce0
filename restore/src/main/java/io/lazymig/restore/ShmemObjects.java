package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ImageDir;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesFile;
import io.lazymig.images.Shmem;
import io.lazymig.jni.Buffers;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Memory;
import io.lazymig.jni.SharedMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The checkpoint's shared memory objects, each made once, in restore itself, on the first use by
 * any process of the tree, and filled with its dumped pages there: MAP_SHARED anonymous memory as
 * the kernel makes it (a shared anonymous mapping in restore, whose shmem file restore keeps open
 * through /proc/self/map_files and then unmaps: /proc/PID/maps still calls it "/dev/zero
 * (deleted)"), a memfd by memfd_create with its name, size and owner. Every process that maps or
 * holds one opens restore's fd by /proc/RESTORE/fd/N, so they all share the one object, as they did
 * at dump. Restore keeps the fds until every process is restored. A memfd's seals come last
 * ({@link #seal}), once every process has mapped it: a mapping made writable before
 * F_SEAL_FUTURE_WRITE stays writable in the kernel, but sealed first no writable shared mapping
 * could be made again (and F_SEAL_WRITE forbids writing the pages).
 *
 * <p>Eager, as CRIU restores shared memory: the pages are in the object before any process runs.
 * Lazily, one userfaultfd per process would have to be registered over each process's mapping of
 * the object (UFFD_FEATURE_MISSING_SHMEM), and the first fault on a page, from whichever process,
 * filled for all of them (UFFDIO_COPY fills the page cache, which every mapper sees; the others'
 * waiting threads still need a wake on their own uffd): a second fault path in the daemon, keyed by
 * object and offset rather than by process and address. The cost of eager is the shared bytes in
 * the downtime; the processes' private memory stays lazy.
 *
 * <p>Owned by the restoring thread; {@link #close()} closes every fd (the processes keep the objects).
 */
final class ShmemObjects implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");
    private static final int BATCH = 1 << 20;

    private final Checkpoint cp;
    private final Path dir;
    private final Map<Long, FileDescriptor> made = new LinkedHashMap<>();
    private long bytes;

    ShmemObjects(Checkpoint cp, Path dir) {
        this.cp = cp;
        this.dir = dir;
    }

    /** The path a process opens to reach object {@code shmid}: restore's own fd, through /proc. */
    String path(long shmid) throws IOException {
        FileDescriptor fd = made.get(shmid);
        if (fd == null) {
            Shmem m = cp.shmem(shmid);
            fd = make(m);
            made.put(shmid, fd);
        }
        return "/proc/" + ProcessHandle.current().pid() + "/fd/" + fd.fd();
    }

    /**
     * Adds every memfd's dumped seals: called once every process of the tree has its memory (and its
     * fds) restored, before any runs. A failure names the object.
     */
    void seal() throws IOException {
        for (Map.Entry<Long, FileDescriptor> e : made.entrySet()) {
            Shmem m = cp.shmem(e.getKey());
            if (m.isMemfd() && m.seals() != 0) {
                try {
                    SharedMemory.addSeals(e.getValue(), m.seals());
                } catch (IOException | RuntimeException x) {
                    throw new RestoreException("cannot seal " + m.describe() + " again: " + x.getMessage(), x);
                }
            }
        }
    }

    /** Bytes of shared memory written so far. */
    long bytes() {
        return bytes;
    }

    private FileDescriptor make(Shmem m) throws IOException {
        long t0 = System.nanoTime();
        FileDescriptor fd = m.isMemfd() ? SharedMemory.createMemfd(m.memfdName(),
                SharedMemory.MFD_CLOEXEC | SharedMemory.MFD_ALLOW_SEALING) : anonymous(m.size());
        try {
            if (m.isMemfd()) {
                SharedMemory.truncate(fd, m.size());
            }
            fill(m, fd);
            if (m.isMemfd()) {
                SharedMemory.truncate(fd, m.size()); // the last page was written whole: back to the exact size
                Path self = Path.of("/proc/self/fd/" + fd.fd());
                if (m.uid() != 0 || m.gid() != 0) {
                    Files.setAttribute(self, "unix:gid", m.gid());
                    Files.setAttribute(self, "unix:uid", m.uid());
                }
            }
            log.debug("restore: {} made, {} bytes of data, in {} ms", m.describe(), m.pagemap().presentBytes(),
                    String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e6));
            return fd;
        } catch (IOException | RuntimeException e) {
            fd.close();
            throw new RestoreException("cannot make " + m.describe() + ": " + e.getMessage(), e);
        }
    }

    /** A shared anonymous object of {@code size} bytes: mapped here, its shmem file kept, the mapping dropped. */
    private static FileDescriptor anonymous(long size) throws IOException {
        long at = Memory.map(0, size, Memory.PROT_READ | Memory.PROT_WRITE, Memory.MAP_SHARED | Memory.MAP_ANONYMOUS,
                null, 0);
        try {
            return FileDescriptor.open("/proc/self/map_files/" + Long.toHexString(at) + "-" + Long.toHexString(at + size),
                    FileDescriptor.O_RDWR | FileDescriptor.O_CLOEXEC, 0);
        } finally {
            Memory.unmap(at, size);
        }
    }

    /** Writes the dumped pages at their offsets. */
    private void fill(Shmem m, FileDescriptor fd) throws IOException {
        if (m.pagemap().presentBytes() == 0) {
            return;
        }
        ByteBuffer buf = Buffers.allocatePageAligned(BATCH);
        try (PagesFile pages = ImageDir.of(dir).openPages(m.pagemap().pagesId())) {
            for (PagemapIov iov : m.pagemap().iovs()) {
                long done = 0;
                while (done < iov.length()) {
                    int n = (int) Math.min(BATCH, iov.length() - done);
                    buf.clear().limit(n);
                    pages.read(iov.pagesOffset() + done, buf);
                    long w = 0;
                    while (w < n) {
                        w += fd.pwrite(Buffers.address(buf) + w, n - w, iov.vaddr() + done + w);
                    }
                    done += n;
                }
            }
        }
        bytes += m.pagemap().presentBytes();
    }

    @Override
    public void close() {
        for (FileDescriptor fd : made.values()) {
            fd.close();
        }
        made.clear();
    }
}
