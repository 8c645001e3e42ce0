package io.lazymig.dump;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMAs of each process of a tree, read from /proc/PID/smaps just before the freeze and
 * confirmed once frozen. smaps walks every page table to count Rss, Pss, ... (about 20 ms a GiB
 * here, read twice inside the freeze before); the dump needs only its VmFlags. Once the process
 * is frozen, {@link #confirmed} reads /proc/PID/maps (no page walk) and the status line VmLck:
 * when every mapping is the same and the locked size too, the entries read before stand; when
 * anything moved in between, smaps is read again, frozen. What the confirmation cannot see: a
 * madvise hint (MADV_DONTDUMP, MADV_HUGEPAGE, ...) set or cleared on a whole VMA in the few
 * milliseconds between the read and the freeze; it changes no maps line, and the dump keeps the
 * hint as it was a moment before. mlock is seen (VmLck), a partial madvise splits the VMA (seen).
 */
final class VmaSnapshot {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    /** One process's read: its smaps entries and its VmLck line. */
    private record Read(List<MapsEntry> entries, String locked) {
    }

    private final Map<Integer, Read> byPid;

    private VmaSnapshot(Map<Integer, Read> byPid) {
        this.byPid = byPid;
    }

    /** Reads the smaps of each of {@code pids} (still running); one that is gone meanwhile is left out. */
    static VmaSnapshot take(List<Integer> pids) throws IOException {
        Map<Integer, Read> m = new HashMap<>();
        for (int pid : pids) {
            try {
                String locked = locked(pid); // first: a change after it shows in the confirmation
                m.put(pid, new Read(ProcSmaps.read(pid), locked));
            } catch (NoSuchFileException e) {
                continue; // exited (or a zombie's smaps is empty anyway): the freeze decides
            }
        }
        return new VmaSnapshot(m);
    }

    /** A snapshot of nothing: every {@link #confirmed} reads smaps, frozen. */
    static VmaSnapshot none() {
        return new VmaSnapshot(Map.of());
    }

    /** The VMAs of frozen process {@code pid}: those read before the freeze if nothing changed, else smaps read now. */
    List<MapsEntry> confirmed(int pid) throws IOException {
        Read before = byPid.get(pid);
        if (before != null && Objects.equals(before.locked(), locked(pid))
                && sameMappings(before.entries(), ProcSmaps.readMaps(pid))) {
            return before.entries();
        }
        if (before != null) {
            log.debug("dump: process {}: its mappings changed since they were read before the freeze; read again", pid);
        }
        return ProcSmaps.read(pid);
    }

    /** Whether two reads list the same mappings (range, permissions, offset, inode, path), VmFlags aside. */
    static boolean sameMappings(List<MapsEntry> a, List<MapsEntry> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            MapsEntry x = a.get(i);
            MapsEntry y = b.get(i);
            if (x.start() != y.start() || x.end() != y.end() || x.read() != y.read() || x.write() != y.write()
                    || x.exec() != y.exec() || x.shared() != y.shared() || x.offset() != y.offset()
                    || x.inode() != y.inode() || !Objects.equals(x.path(), y.path())) {
                return false;
            }
        }
        return true;
    }

    /** The VmLck line of /proc/PID/status (null for a kernel thread or a zombie). */
    private static String locked(int pid) throws IOException {
        return ProcStatus.read(pid).getOrNull("VmLck");
    }
}
