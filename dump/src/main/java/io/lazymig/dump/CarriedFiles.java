package io.lazymig.dump;

import io.lazymig.images.CarriedFile;
import io.lazymig.images.DevNull;
import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import io.lazymig.images.RegularFile;
import io.lazymig.images.Vma;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The small files that travel with the images: every regular file the frozen process has open or
 * mapped whose size is at most the limit (dump --carry-limit, default {@link #DEFAULT_LIMIT}) is
 * read whole, with its permission bits and owner, so that restore can recreate it on a host where
 * it is missing. A JVM maps its perf-data file /tmp/hsperfdata_USER/PID shared (32 KiB), and any
 * other JVM starting on the host deletes it once that pid is gone; a file that does not travel and
 * is missing where restore runs is an error there naming it. Files are read through /proc/PID/fd
 * and /proc/PID/map_files, so what is read is what the process has, whatever the path resolves to
 * for lazymig. Read while the process is frozen: a shared mapping's content is the page cache.
 *
 * <p>Reading them costs the freeze 5-20 ms (a dynamically linked program maps ld.so and its own
 * executable), so {@link #prefetch} reads them before the freeze, and the frozen read takes a
 * prefetched content only when one stat shows the same file unchanged: same device, inode, size,
 * mtime and ctime. Files modified in the last {@link #SETTLED_NANOS} before the prefetch are not
 * prefetched (a write within the same coarse timestamp tick would leave mtime as it was), nor are
 * files mapped shared and writable (stores through a mapping do not update mtime once the page is
 * dirty): those are read while frozen, as before.
 */
final class CarriedFiles {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    /** The default limit: files up to 1 MiB travel. */
    static final long DEFAULT_LIMIT = 1 << 20;
    /** What all carried files together may hold: one image file ({@code ImageReader.MAX_FILE_SIZE}), less room for framing. */
    static final long MAX_TOTAL = (64L << 20) - (1 << 20);

    /** How long ago a file must have been last changed to be read before the freeze. */
    static final long SETTLED_NANOS = 2_000_000_000L;
    private static final String STAT = "unix:dev,ino,size,lastModifiedTime,ctime,mode,uid,gid";

    private CarriedFiles() {
    }

    /** Content read before the freeze, by path, with the stat it was read under. */
    static final class Prefetched {
        static final Prefetched NONE = new Prefetched(Map.of());
        private final Map<String, Entry> byPath;

        private Prefetched(Map<String, Entry> byPath) {
            this.byPath = byPath;
        }

        int size() {
            return byPath.size();
        }

        /** The prefetched file for {@code path} if {@code stat} (taken now) shows it unchanged. */
        CarriedFile ifUnchanged(String path, Map<String, Object> stat) {
            Entry e = byPath.get(path);
            return e != null && e.identity.equals(identity(stat)) ? e.file : null;
        }
    }

    private record Entry(List<Object> identity, CarriedFile file) {
    }

    private static List<Object> identity(Map<String, Object> stat) {
        return List.of(stat.get("dev"), stat.get("ino"), stat.get("size"), stat.get("lastModifiedTime"), stat.get("ctime"));
    }

    /**
     * Reads, while {@code pid} still runs, the files {@link #read} would carry and that have settled;
     * any failure only means nothing is prefetched. {@code limit} 0 prefetches none.
     */
    static Prefetched prefetch(int pid, long limit) {
        return prefetch(List.of(pid), limit);
    }

    /** {@link #prefetch(int, long)} for the processes of a tree, each path read once. */
    static Prefetched prefetch(List<Integer> pids, long limit) {
        if (limit <= 0) {
            return Prefetched.NONE;
        }
        try {
            long cap = Math.min(limit, CarriedFile.MAX_BYTES);
            Map<String, Path> candidates = new LinkedHashMap<>();
            for (int pid : pids) {
                Path proc = Path.of("/proc", Integer.toString(pid));
                try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
                    for (Path fd : fds) {
                        String target = Files.readSymbolicLink(fd).toString();
                        if (target.startsWith("/")) {
                            candidates.putIfAbsent(target, fd);
                        }
                    }
                } catch (IOException e) {
                    continue; // gone meanwhile (a zombie has no fds): nothing of it to prefetch
                }
                for (MapsEntry m : ProcSmaps.readMaps(pid)) {
                    if (m.isFile() && !(m.shared() && m.write())) {
                        candidates.putIfAbsent(m.path(), proc.resolve("map_files")
                                .resolve(Long.toHexString(m.start()) + "-" + Long.toHexString(m.end())));
                    }
                }
            }
            long settledBefore = System.currentTimeMillis() - SETTLED_NANOS / 1_000_000;
            Map<String, Entry> out = new HashMap<>();
            for (Map.Entry<String, Path> c : candidates.entrySet()) {
                Map<String, Object> stat;
                try {
                    stat = Files.readAttributes(c.getValue(), STAT);
                } catch (IOException e) {
                    continue;
                }
                if (((FileTime) stat.get("ctime")).toMillis() > settledBefore
                        || ((FileTime) stat.get("lastModifiedTime")).toMillis() > settledBefore) {
                    continue;
                }
                CarriedFile f = readOne(c.getKey(), c.getValue(), cap, stat);
                if (f != null && identity(stat).equals(identity(Files.readAttributes(c.getValue(), STAT)))) {
                    out.put(c.getKey(), new Entry(identity(stat), f));
                }
            }
            return new Prefetched(out);
        } catch (IOException | RuntimeException e) {
            log.debug("dump: no carried file read before the freeze: {}", e.toString());
            return Prefetched.NONE;
        }
    }

    /** The files to carry, in the order first seen (fds, then mappings). {@code limit} 0 carries none. */
    static List<CarriedFile> read(int pid, List<FdSlot> slots, List<FileObject> files, List<Vma> vmas, long limit,
            Prefetched prefetched) throws IOException {
        return read(pid, slots, files, vmas, limit, prefetched, Set.of());
    }

    /**
     * As above for one process of a tree: the paths in {@code known} (what the processes before
     * it carry already: their exe, ld.so, the files they share) are not read again.
     */
    static List<CarriedFile> read(int pid, List<FdSlot> slots, List<FileObject> files, List<Vma> vmas, long limit,
            Prefetched prefetched, Set<String> known) throws IOException {
        if (limit <= 0) {
            return List.of();
        }
        long cap = Math.min(limit, CarriedFile.MAX_BYTES);
        Map<String, Path> candidates = new LinkedHashMap<>();
        Path proc = Path.of("/proc", Integer.toString(pid));
        for (FdSlot s : slots) {
            for (FileObject f : files) {
                if (f.id() == s.fileId() && f instanceof RegularFile r) {
                    candidates.putIfAbsent(r.path(), proc.resolve("fd").resolve(Integer.toString(s.fd())));
                }
            }
        }
        for (FileObject f : files) {
            if (f instanceof RegularFile r && slots.stream().noneMatch(s -> s.fileId() == r.id())) {
                // in flight in a unix socket's queue only: its fd is closed again, so read by its path
                candidates.putIfAbsent(r.path(), Path.of(r.path()));
            }
        }
        for (Vma v : vmas) {
            if (v.isFileBacked() && !v.path().equals(DevNull.PATH)) {
                candidates.putIfAbsent(v.path(), proc.resolve("map_files")
                        .resolve(Long.toHexString(v.start()) + "-" + Long.toHexString(v.end())));
            }
        }
        Set<String> sharedWritable = new HashSet<>();
        for (Vma v : vmas) {
            if (v.isFileBacked() && (v.flags() & Vma.MAP_SHARED) != 0 && (v.prot() & Vma.PROT_WRITE) != 0) {
                sharedWritable.add(v.path());
            }
        }
        List<CarriedFile> carried = new ArrayList<>();
        long total = 0;
        int reused = 0;
        for (Map.Entry<String, Path> c : candidates.entrySet()) {
            if (known.contains(c.getKey())) {
                continue;
            }
            Map<String, Object> stat;
            try {
                stat = Files.readAttributes(c.getValue(), STAT);
            } catch (NoSuchFileException e) {
                continue; // a deleted file is refused by its own reader; nothing to carry
            }
            CarriedFile f = sharedWritable.contains(c.getKey()) ? null : prefetched.ifUnchanged(c.getKey(), stat);
            if (f != null) {
                reused++;
            } else {
                f = readOne(c.getKey(), c.getValue(), cap, stat);
            }
            if (f == null) {
                continue;
            }
            if (total + f.size() > MAX_TOTAL) {
                log.info("dump: {} does not travel: the carried files reach {} bytes", c.getKey(), total);
                continue;
            }
            total += f.size();
            carried.add(f);
        }
        log.debug("dump: {} files ({} bytes) travel with the images, {} of them read before the freeze", carried.size(),
                total, reused);
        return carried;
    }

    /** The file, or null when {@code stat} shows no regular file or one larger than {@code cap}. */
    private static CarriedFile readOne(String path, Path link, long cap, Map<String, Object> stat) throws IOException {
        int mode = (Integer) stat.get("mode");
        if ((mode & 0170000) != 0100000 || (Long) stat.get("size") > cap) {
            return null;
        }
        byte[] content;
        try {
            content = Files.readAllBytes(link);
        } catch (NoSuchFileException e) {
            return null;
        }
        if (content.length > cap) {
            return null; // grew since the stat (another process writes it)
        }
        return new CarriedFile(path, mode & 07777, (Integer) stat.get("uid"), (Integer) stat.get("gid"), content);
    }
}
