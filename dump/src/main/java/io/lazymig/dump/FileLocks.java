package io.lazymig.dump;

import io.lazymig.images.FdSlot;
import io.lazymig.images.FileLock;
import io.lazymig.images.Vma;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The file locks of a frozen process. A lock held through an fd is listed in that fd's fdinfo
 * ("lock:" lines, as /proc/locks prints them); a flock held only through a mapping (its fd closed,
 * the open file kept by the mapping: a JVM's perf-data file) is in /proc/locks alone, found by the
 * process's pid and the inode of a mapped file. flock locks are dumped ({@link FileLock}); POSIX,
 * OFD locks and leases are refused with one line naming the fd or file.
 */
final class FileLocks {
    private FileLocks() {
    }

    /** One line of /proc/locks: "1: FLOCK  ADVISORY  WRITE 8584 fe:00:2155005 0 EOF". */
    record Entry(String type, boolean write, int pid, String device, long inode) {
        /** The entry of a line, or null for a blocked waiter ("1: -> FLOCK ...") or a line it cannot read. */
        static Entry parse(String line) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 8 || f[1].equals("->")) {
                return null;
            }
            String[] id = f[5].split(":");
            if (id.length != 3) {
                return null;
            }
            try {
                return new Entry(f[1], f[3].equals("WRITE"), Integer.parseInt(f[4]), id[0] + ":" + id[1],
                        Long.parseLong(id[2]));
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    /** {@code procLocks}: the lines of /proc/locks, read with the whole tree frozen ({@link ProcLocks}). */
    static List<FileLock> read(int pid, List<FdSlot> slots, List<Vma> vmas, List<String> procLocks) throws IOException {
        Path proc = Path.of("/proc", Integer.toString(pid));
        List<FileLock> locks = new ArrayList<>();
        Set<String> viaFd = new HashSet<>();
        for (FdSlot s : slots) {
            String info;
            try {
                info = ProcText.read(proc.resolve("fdinfo").resolve(Integer.toString(s.fd())));
            } catch (NoSuchFileException e) {
                continue;
            }
            for (String line : info.split("\n")) {
                if (!line.startsWith("lock:")) {
                    continue;
                }
                Entry e = Entry.parse(line.substring("lock:".length()));
                if (e == null) {
                    continue;
                }
                String path = Preflight.fdTarget(pid, s.fd());
                if (!e.type().equals("FLOCK")) {
                    throw new DumpException("process " + pid + " fd " + s.fd() + " (" + path + ") holds a " + e.type()
                            + " lock: only flock locks are supported yet");
                }
                viaFd.add(e.device() + ":" + e.inode());
                locks.add(new FileLock(pid, path, e.write(), s.fd()));
            }
        }
        for (String line : procLocks) {
            Entry e = Entry.parse(line);
            if (e == null || e.pid() != pid || viaFd.contains(e.device() + ":" + e.inode())) {
                continue;
            }
            if (!e.type().equals("FLOCK")) {
                throw new DumpException("process " + pid + " holds a " + e.type() + " lock on inode " + e.device() + ":"
                        + e.inode() + ": only flock locks are supported yet");
            }
            String path = mappedPath(proc, vmas, e);
            if (path == null) {
                throw new DumpException("process " + pid + " holds a flock on inode " + e.device() + ":" + e.inode()
                        + " that is neither open nor mapped by it: not supported");
            }
            locks.add(new FileLock(pid, path, e.write(), FileLock.VIA_MAPPING));
            viaFd.add(e.device() + ":" + e.inode());
        }
        return locks;
    }

    /** The path of a mapped file with the entry's device and inode, or null. */
    private static String mappedPath(Path proc, List<Vma> vmas, Entry e) throws IOException {
        for (Vma v : vmas) {
            if (!v.isFileBacked()) {
                continue;
            }
            Path link = proc.resolve("map_files").resolve(Long.toHexString(v.start()) + "-" + Long.toHexString(v.end()));
            try {
                long ino = (Long) Files.getAttribute(link, "unix:ino");
                long dev = (Long) Files.getAttribute(link, "unix:dev");
                if (ino == e.inode() && device(dev).equals(e.device())) {
                    return v.path();
                }
            } catch (NoSuchFileException ignored) {
                // unmapped meanwhile: cannot be frozen, but a special mapping has no map_files entry
            }
        }
        return null;
    }

    /** st_dev as /proc/locks prints it: "MAJOR:MINOR" in hex, two digits at least. */
    static String device(long dev) {
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        return String.format("%02x:%02x", major, minor);
    }
}
