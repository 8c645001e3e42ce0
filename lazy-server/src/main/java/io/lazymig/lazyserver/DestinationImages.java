package io.lazymig.lazyserver;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ImageDir;
import io.lazymig.images.ImageType;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.Shmem;
import io.lazymig.images.PagesFile;
import io.lazymig.images.PagesWriter;
import io.lazymig.protocol.Messages;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The image directory a destination restores from: the checkpoint's small images, its pagemap
 * with the lazy entries as PE_LAZY only, and a pages-N.img holding only the eager pages — the
 * layout of CRIU's dump --lazy-pages. Built once: the pages files in a private temporary
 * directory, the protobuf images in memory (migrate sends them from there; a process with 100
 * threads has 110, and their files cost 30-400 ms of its downtime), each written into the
 * directory only when a client asks for it as a file ({@link #file}). The server offers exactly
 * these images and nothing else, so no request can read outside -D.
 */
public final class DestinationImages implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-server");
    private final Path dir;
    private final List<Messages.ImageInfo> images;
    /** The protobuf images by name; guarded by this (a server's sessions ask for files). */
    private final Map<String, byte[]> inMemory;

    private DestinationImages(Path dir, List<Messages.ImageInfo> images, Map<String, byte[]> inMemory) {
        this.dir = dir;
        this.images = images;
        this.inMemory = inMemory;
    }

    public static DestinationImages build(Checkpoint cp, Path sourceDir) throws IOException {
        return build(cp, sourceDir, 0, new int[1]);
    }

    /**
     * A rehearsal's {@link #build} (a warm-up's): the images are built, then encoded again into
     * memory until {@code encodeNanos} have passed, so that their encoding is compiled before a
     * real migration encodes its own inside the downtime. Three builds leave it mostly interpreted:
     * a 100-thread process's 109 images took 9.5-22 ms to encode then. Returns the times encoded.
     */
    public static int rehearse(Checkpoint cp, Path sourceDir, long encodeNanos) throws IOException {
        int[] count = {0};
        build(cp, sourceDir, encodeNanos, count).close();
        return count[0];
    }

    private static DestinationImages build(Checkpoint cp, Path sourceDir, long encodeNanos, int[] encoded)
            throws IOException {
        long t0 = System.nanoTime();
        Path tmp = Files.createTempDirectory("lazymig-dest");
        try {
            Checkpoint dest = cp;
            // one copy buffer for every run of eager pages: a direct buffer each (7 runs in a small C
            // process, 28 in a tree of 4) cost a fresh, zeroed MiB apiece, ~10-100 ms a process here
            ByteBuffer buf = ByteBuffer.allocateDirect(COPY_BYTES);
            for (ProcessImage p : cp.processes()) {
                dest = dest.withPagemap(p.pid(), eagerOnly(p.pagemap(), sourceDir, tmp, buf));
            }
            for (Shmem m : cp.shmems()) {
                // shared memory is restored eagerly (restore's ShmemObjects): all its pages travel as images
                dest = dest.withShmemPagemap(m.shmid(), eagerOnly(m.pagemap(), sourceDir, tmp, buf));
            }
            long t1 = System.nanoTime();
            Map<String, byte[]> small = new TreeMap<>();
            dest.write(ImageDir.withMemory(tmp, small));
            long t2 = System.nanoTime();
            for (long end = t2 + encodeNanos; System.nanoTime() < end; encoded[0]++) {
                dest.write(ImageDir.withMemory(tmp, new TreeMap<>()));
            }
            long t3 = System.nanoTime();
            Map<String, Long> sizes = new TreeMap<>(); // sorted by name, as the list always was
            try (Stream<Path> s = Files.list(tmp)) {
                for (Path p : s.toList()) {
                    sizes.put(p.getFileName().toString(), Files.size(p));
                }
            }
            small.forEach((name, bytes) -> sizes.put(name, (long) bytes.length));
            List<Messages.ImageInfo> list = new ArrayList<>();
            sizes.forEach((name, size) -> list.add(new Messages.ImageInfo(name, size)));
            log.debug("lazy-server: destination images: eager pages copied in {} us, {} images encoded in {} us, listed in {} us",
                    (t1 - t0) / 1000, small.size(), (t2 - t1) / 1000, (System.nanoTime() - t3) / 1000);
            return new DestinationImages(tmp, List.copyOf(list), small);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    /**
     * One process's pagemap with its lazy entries PE_LAZY only, its eager pages in tmp's pages-N.img:
     * a hard link to the source's when that holds exactly those bytes at those offsets (a dump
     * --lazy-pages writes no lazy data: 850 KiB copied for a 100-thread process, 3-38 ms of its
     * downtime here), else a copy.
     */
    private static Pagemap eagerOnly(Pagemap pagemap, Path sourceDir, Path tmp, ByteBuffer buf) throws IOException {
        Pagemap.Builder pm = Pagemap.builder(pagemap.pagesId());
        for (PagemapIov iov : pagemap.iovs()) {
            pm.add(iov.vaddr(), iov.nrPages(), iov.isLazy() ? PagemapIov.PE_LAZY : iov.flags());
        }
        Pagemap dest = pm.build();
        if (linked(pagemap, dest, sourceDir, tmp)) {
            return dest;
        }
        try (PagesWriter out = ImageDir.of(tmp).createPages(pagemap.pagesId());
             PagesFile in = pagemap.presentBytes() > 0 ? ImageDir.of(sourceDir).openPages(pagemap.pagesId()) : null) {
            for (PagemapIov iov : pagemap.iovs()) {
                if (!iov.isLazy() && iov.isPresent()) {
                    copy(in, iov, out, buf);
                }
            }
        }
        return dest;
    }

    /**
     * Whether {@code dest}'s pages file could be made a hard link to the source's: every page it
     * holds at the source's offset, and the source file no longer than that. False (copy then) when
     * not, when the source file is missing, or when the link fails (another file system).
     */
    private static boolean linked(Pagemap source, Pagemap dest, Path sourceDir, Path tmp) {
        List<PagemapIov> from = source.iovs();
        List<PagemapIov> to = dest.iovs();
        for (int i = 0; i < to.size(); i++) {
            if (to.get(i).isPresent() && to.get(i).pagesOffset() != from.get(i).pagesOffset()) {
                return false;
            }
        }
        Path file = ImageDir.of(sourceDir).file(ImageType.PAGES, source.pagesId());
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || Files.size(file) != dest.presentBytes()) {
                return false;
            }
            Files.createLink(ImageDir.of(tmp).file(ImageType.PAGES, source.pagesId()), file);
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Bytes copied at a time from a source pages file to a destination's. */
    private static final int COPY_BYTES = 1 << 20;

    private static void copy(PagesFile in, PagemapIov iov, PagesWriter out, ByteBuffer buf) throws IOException {
        long off = iov.pagesOffset();
        long left = iov.length();
        while (left > 0) {
            buf.clear().limit((int) Math.min(left, buf.capacity()));
            in.read(off, buf);
            buf.flip();
            out.append(buf);
            off += buf.limit();
            left -= buf.limit();
        }
    }

    public List<Messages.ImageInfo> images() {
        return images;
    }

    /**
     * The file behind an offered image name, or null when the name is not offered. An image held
     * in memory is written into the directory first (once).
     */
    public synchronized Path file(String name) throws IOException {
        for (Messages.ImageInfo i : images) {
            if (i.name().equals(name)) {
                Path file = dir.resolve(i.name());
                byte[] bytes = inMemory.get(i.name());
                if (bytes != null) { // held until its file is whole: a failed write is tried again
                    Path tmp = Files.createTempFile(dir, "." + i.name(), ".tmp");
                    try {
                        Files.write(tmp, bytes);
                        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
                    } finally {
                        Files.deleteIfExists(tmp);
                    }
                    inMemory.remove(i.name());
                }
                return file;
            }
        }
        return null;
    }

    /**
     * The bytes of an offered image held in memory (a protobuf image), or null when it is a file
     * (a pages file, or one {@link #file} wrote): read that from {@link #file}. Not to be modified.
     */
    public synchronized byte[] bytes(String name) {
        return inMemory.get(name);
    }

    @Override
    public void close() throws IOException {
        deleteTree(dir);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
