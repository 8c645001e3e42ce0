package io.lazymig.dump;

import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import io.lazymig.images.ImageDir;
import io.lazymig.images.Memfd;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesWriter;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.Shmem;
import io.lazymig.images.Vma;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.SharedMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared memory objects of a frozen tree (MAP_SHARED anonymous memory, memfds), each read once
 * however many processes map or hold it: the processes that inherited a mapping across fork show
 * the same shmem inode in /proc/PID/maps, which is the object's shmid. The content is read through
 * /proc/PID/map_files/START-END (or /proc/PID/fd/N for a memfd only held open) while every process
 * is frozen; pages that are all zero (holes included) are left out and read back as zero. A
 * memfd's name comes from the link, its owner from stat, its seals from F_GET_SEALS.
 */
final class ShmemReader {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");
    private static final int CHUNK = 1 << 20;

    private ShmemReader() {
    }

    /** The shmem inode number behind {@code link} (a /proc magic link). */
    static long inodeOf(Path link) throws IOException {
        return (Long) Files.getAttribute(link, "unix:ino");
    }

    /**
     * Reads every object the processes map or hold, writing object k's pages to
     * pages-({@code firstPagesId}+k).img in {@code images}.
     */
    static List<Shmem> read(List<ProcessImage> processes, List<FileObject> files, ImageDir images, int firstPagesId)
            throws IOException {
        Map<Long, Path> where = new LinkedHashMap<>();
        Map<Long, String> names = new LinkedHashMap<>();
        for (ProcessImage p : processes) {
            Path proc = Path.of("/proc", Integer.toString(p.pid()));
            for (Vma v : p.vmas()) {
                if (v.isShmem() && !where.containsKey(v.shmid())) {
                    where.put(v.shmid(), proc.resolve("map_files").resolve(Long.toHexString(v.start()) + "-"
                            + Long.toHexString(v.end())));
                    names.put(v.shmid(), v.isMemfd() ? "memfd" : "anon");
                }
            }
            for (FdSlot s : p.fds()) {
                for (FileObject f : files) {
                    if (f.id() == s.fileId() && f instanceof Memfd m && !where.containsKey(m.shmid())) {
                        where.put(m.shmid(), proc.resolve("fd").resolve(Integer.toString(s.fd())));
                        names.put(m.shmid(), "memfd");
                    }
                }
            }
        }
        List<Shmem> out = new ArrayList<>();
        int pagesId = firstPagesId;
        for (Map.Entry<Long, Path> e : where.entrySet()) {
            long shmid = e.getKey();
            Path link = e.getValue();
            boolean memfd = names.get(shmid).equals("memfd");
            if (inodeOf(link) != shmid) {
                throw new DumpException(link + " is no longer shmem inode " + shmid);
            }
            if (shmid > 0xffffffffL) {
                throw new DumpException("shared memory " + link + " has inode " + shmid + ", beyond 32 bits: not supported");
            }
            Map<String, Object> stat = Files.readAttributes(link, "unix:size,uid,gid");
            long fileSize = (Long) stat.get("size");
            // a memfd keeps its exact size; anonymous memory is whole pages (its i_size is the mmap length)
            long size = memfd ? fileSize : roundUp(Math.max(fileSize, PagemapIov.PAGE_SIZE));
            String name = null;
            int seals = 0;
            int uid = 0;
            int gid = 0;
            if (memfd) {
                name = memfdName(Files.readSymbolicLink(link).toString());
                uid = (Integer) stat.get("uid");
                gid = (Integer) stat.get("gid");
                try (FileDescriptor fd = FileDescriptor.open(link.toString(), FileDescriptor.O_RDONLY
                        | FileDescriptor.O_CLOEXEC, 0)) {
                    seals = SharedMemory.seals(fd);
                }
            }
            Pagemap pagemap = readPages(link, fileSize, images, pagesId++);
            Shmem m = new Shmem(shmid, size, name, uid, gid, seals, pagemap);
            log.debug("dump: {}: {} pages of data, read from {}", m.describe(),
                    pagemap.presentBytes() / PagemapIov.PAGE_SIZE, link);
            out.add(m);
        }
        return out;
    }

    /** "/memfd:NAME (deleted)" → NAME. */
    static String memfdName(String target) {
        return target.substring("/memfd:".length(), target.length() - " (deleted)".length());
    }

    /** The object's non-zero pages, in runs, appended to pages-{@code pagesId}.img. */
    private static Pagemap readPages(Path link, long size, ImageDir images, int pagesId) throws IOException {
        Pagemap.Builder pm = Pagemap.builder(pagesId);
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        try (FileChannel in = FileChannel.open(link, StandardOpenOption.READ);
             PagesWriter out = images.createPages(pagesId)) {
            long runStart = -1;
            long runPages = 0;
            for (long off = 0; off < size; off += CHUNK) {
                buf.clear().limit((int) Math.min(CHUNK, roundUp(size - off)));
                while (buf.hasRemaining()) {
                    int n = in.read(buf, off + buf.position());
                    if (n < 0) {
                        while (buf.hasRemaining()) {
                            buf.put((byte) 0); // past the end of the file: what a mapping reads there
                        }
                    }
                }
                buf.flip();
                for (int p = 0; p < buf.limit(); p += PagemapIov.PAGE_SIZE) {
                    boolean zero = isZero(buf, p);
                    if (!zero) {
                        ByteBuffer page = buf.duplicate();
                        page.position(p).limit(p + PagemapIov.PAGE_SIZE);
                        out.append(page);
                        if (runStart < 0) {
                            runStart = off + p;
                        }
                        runPages++;
                    } else if (runStart >= 0) {
                        pm.add(runStart, runPages, PagemapIov.PE_PRESENT);
                        runStart = -1;
                        runPages = 0;
                    }
                }
            }
            if (runStart >= 0) {
                pm.add(runStart, runPages, PagemapIov.PE_PRESENT);
            }
        }
        return pm.build();
    }

    private static boolean isZero(ByteBuffer buf, int at) {
        for (int i = at; i < at + PagemapIov.PAGE_SIZE; i += 8) {
            if (buf.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }

    private static long roundUp(long n) {
        return (n + PagemapIov.PAGE_SIZE - 1) & -PagemapIov.PAGE_SIZE;
    }
}
