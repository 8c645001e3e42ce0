package io.lazymig.dump;

import io.lazymig.images.Vma;
import io.lazymig.jni.Memory;
import java.util.Map;

/**
 * Turns a /proc/PID/smaps entry into CRIU's vma_entry terms: MAP_* flags, VMA_* status bits and
 * the madvise bitmap, as CRIU derives them (CRIU-FACTS §4.6: private anon 0x201/0x22, heap
 * 0x221, private file 0x41/0x2, vdso 0x209, vvar 0x1201, vsyscall 0x204).
 */
public final class VmaClassifier {
    /** smaps VmFlags codes of the madvise advice CRIU records, mapped to MADV_* numbers. */
    private static final Map<String, Integer> MADVISE_FLAGS = Map.of(
            "sr", Memory.MADV_SEQUENTIAL, "rr", Memory.MADV_RANDOM, "dc", Memory.MADV_DONTFORK,
            "dd", Memory.MADV_DONTDUMP, "mg", Memory.MADV_MERGEABLE, "hg", Memory.MADV_HUGEPAGE,
            "nh", Memory.MADV_NOHUGEPAGE, "wf", Memory.MADV_WIPEONFORK);

    private VmaClassifier() {
    }

    public static Vma classify(MapsEntry m) throws DumpException {
        int prot = (m.read() ? Vma.PROT_READ : 0) | (m.write() ? Vma.PROT_WRITE : 0) | (m.exec() ? Vma.PROT_EXEC : 0);
        int extra = (m.vmFlags().contains("gd") ? Vma.MAP_GROWSDOWN : 0)
                | (m.vmFlags().contains("lo") ? Vma.MAP_LOCKED : 0)
                | (m.vmFlags().contains("nr") ? Vma.MAP_NORESERVE : 0);
        if (m.vmFlags().contains("ht")) {
            throw new DumpException("hugetlb mapping " + m + ": not supported yet");
        }
        long madv = madvise(m);
        int anonPrivate = Vma.MAP_PRIVATE | Vma.MAP_ANONYMOUS;
        if (m.isVsyscall()) {
            return new Vma(m.start(), m.end(), prot, anonPrivate, Vma.VMA_AREA_VSYSCALL | Vma.VMA_ANON_PRIVATE, 0, null, 0);
        }
        if ("[vdso]".equals(m.path())) {
            return new Vma(m.start(), m.end(), prot, anonPrivate,
                    Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_PRIVATE | Vma.VMA_AREA_VDSO, 0, null, madv);
        }
        if ("[vvar]".equals(m.path()) || "[vvar_vclock]".equals(m.path())) {
            return new Vma(m.start(), m.end(), prot, anonPrivate,
                    Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_PRIVATE | Vma.VMA_AREA_VVAR, 0, null, madv);
        }
        String shmem = shmemRefusal(m);
        if (shmem != null) {
            throw new DumpException(shmem);
        }
        if (isSharedAnonymous(m)) {
            // its pages are the shared object's (ShmemReader), dumped once for every process mapping it
            return new Vma(m.start(), m.end(), prot, Vma.MAP_SHARED | Vma.MAP_ANONYMOUS | extra,
                    Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_SHARED, m.offset(), null, madv, m.inode());
        }
        if (isMemfd(m)) {
            return new Vma(m.start(), m.end(), prot, Vma.MAP_SHARED | extra,
                    Vma.VMA_AREA_REGULAR | Vma.VMA_FILE_SHARED | Vma.VMA_AREA_MEMFD, m.offset(), null, madv, m.inode());
        }
        if (m.isFile()) {
            if (m.path().endsWith(" (deleted)")) {
                throw new DumpException("mapping of a deleted file " + m + ": not supported yet");
            }
            int flags = (m.shared() ? Vma.MAP_SHARED : Vma.MAP_PRIVATE) | extra;
            int status = Vma.VMA_AREA_REGULAR | (m.shared() ? Vma.VMA_FILE_SHARED : Vma.VMA_FILE_PRIVATE);
            return new Vma(m.start(), m.end(), prot, flags, status, m.offset(), m.path(), madv);
        }
        if (m.path() != null && m.path().startsWith("[") && !"[heap]".equals(m.path()) && !"[stack]".equals(m.path())
                && !m.path().startsWith("[anon:")) {
            throw new DumpException("special mapping " + m + ": not supported");
        }
        if (m.shared()) {
            throw new DumpException("shared anonymous memory " + m + ": not supported yet");
        }
        int status = Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_PRIVATE | ("[heap]".equals(m.path()) ? Vma.VMA_AREA_HEAP : 0);
        return new Vma(m.start(), m.end(), prot, anonPrivate | extra, status, 0, null, madv);
    }

    /**
     * Why a shmem mapping cannot be dumped yet (SysV segments, private mappings of a memfd), naming
     * the mapping and its inode; null for any other mapping, shared anonymous memory and shared memfd
     * mappings included.
     */
    static String shmemRefusal(MapsEntry m) {
        String kind = shmemKind(m);
        if (kind == null || isSharedAnonymous(m) || isMemfd(m)) {
            return null;
        }
        return kind + " " + m + " (inode " + m.inode() + "): not supported yet"
                + (m.shared() ? "" : " (a shared mapping of it is)");
    }

    /** MAP_SHARED|MAP_ANONYMOUS memory (or a shared mapping of /dev/zero): maps calls it "/dev/zero (deleted)". */
    static boolean isSharedAnonymous(MapsEntry m) {
        return m.shared() && "/dev/zero (deleted)".equals(m.path()) && m.inode() != 0;
    }

    /** A shared mapping of a memfd: "/memfd:NAME (deleted)". */
    static boolean isMemfd(MapsEntry m) {
        return m.shared() && m.path() != null && m.path().startsWith("/memfd:") && m.path().endsWith(" (deleted)")
                && m.inode() != 0;
    }

    /**
     * The kind of shmem object a mapping of an inode of the kernel's shmem (not a file of any mounted
     * file system) shows: maps names MAP_SHARED|MAP_ANONYMOUS (and a shared mapping of /dev/zero)
     * "/dev/zero (deleted)", a memfd "/memfd:NAME (deleted)", a SysV segment "/SYSV%08x (deleted)";
     * null for any other mapping. The inode identifies the object across the processes that share it
     * (a SysV segment's is its shmid, 0 for the first).
     */
    static String shmemKind(MapsEntry m) {
        String path = m.path();
        if (path == null || !path.endsWith(" (deleted)")) {
            return null;
        }
        if (path.startsWith("/SYSV")) {
            return "SysV shared memory (shmat, key 0x" + path.substring(5, path.length() - " (deleted)".length()) + ")";
        }
        if (path.startsWith("/memfd:")) {
            return (m.shared() ? "shared" : "private") + " mapping of a memfd";
        }
        if (path.equals("/dev/zero (deleted)") && m.shared()) {
            return "shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS)";
        }
        return null;
    }

    private static long madvise(MapsEntry m) {
        long bits = 0;
        for (Map.Entry<String, Integer> e : MADVISE_FLAGS.entrySet()) {
            if (m.vmFlags().contains(e.getKey())) {
                bits |= 1L << e.getValue();
            }
        }
        return bits;
    }
}
