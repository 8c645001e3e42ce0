package io.lazymig.dump;

import io.lazymig.images.CarriedFile;
import io.lazymig.images.DevNull;
import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import io.lazymig.images.RegularFile;
import io.lazymig.images.Vma;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 */
final class CarriedFiles {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    /** The default limit: files up to 1 MiB travel. */
    static final long DEFAULT_LIMIT = 1 << 20;
    /** What all carried files together may hold: one image file ({@code ImageReader.MAX_FILE_SIZE}), less room for framing. */
    static final long MAX_TOTAL = (64L << 20) - (1 << 20);

    private CarriedFiles() {
    }

    /** The files to carry, in the order first seen (fds, then mappings). {@code limit} 0 carries none. */
    static List<CarriedFile> read(int pid, List<FdSlot> slots, List<FileObject> files, List<Vma> vmas, long limit)
            throws IOException {
        return read(pid, slots, files, vmas, limit, java.util.Set.of());
    }

    /**
     * As above for one process of a tree: the paths in {@code known} (what the processes before
     * it carry already: their exe, ld.so, the files they share) are not read again.
     */
    static List<CarriedFile> read(int pid, List<FdSlot> slots, List<FileObject> files, List<Vma> vmas, long limit,
            java.util.Set<String> known) throws IOException {
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
        for (Vma v : vmas) {
            if (v.isFileBacked() && !v.path().equals(DevNull.PATH)) {
                candidates.putIfAbsent(v.path(), proc.resolve("map_files")
                        .resolve(Long.toHexString(v.start()) + "-" + Long.toHexString(v.end())));
            }
        }
        List<CarriedFile> carried = new ArrayList<>();
        long total = 0;
        for (Map.Entry<String, Path> c : candidates.entrySet()) {
            if (known.contains(c.getKey())) {
                continue;
            }
            CarriedFile f = readOne(c.getKey(), c.getValue(), cap);
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
        log.debug("dump: {} files ({} bytes) travel with the images", carried.size(), total);
        return carried;
    }

    /** The file, or null when it is not a regular file or larger than {@code cap}. */
    private static CarriedFile readOne(String path, Path link, long cap) throws IOException {
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(link, PosixFileAttributes.class);
        } catch (NoSuchFileException e) {
            return null; // a deleted file is refused by its own reader; nothing to carry
        }
        if (!a.isRegularFile() || a.size() > cap) {
            return null;
        }
        byte[] content = Files.readAllBytes(link);
        if (content.length > cap) {
            return null; // grew since the stat (another process writes it)
        }
        int mode = (Integer) Files.getAttribute(link, "unix:mode") & 07777;
        int uid = (Integer) Files.getAttribute(link, "unix:uid");
        int gid = (Integer) Files.getAttribute(link, "unix:gid");
        return new CarriedFile(path, mode, uid, gid, content);
    }
}
