package io.lazymig.images;

/**
 * One memory area as CRIU's vma_entry describes it (CRIU-FACTS §4.6): [start, end), protection,
 * MAP_* flags, CRIU's VMA_* status bits, file offset in bytes, the mapped file's path (null unless
 * file-backed), the madvise bitmap and, for shared memory, the id of the {@link Shmem} object
 * mapped (its shmem inode number at dump; 0 for any other area). Addresses are unsigned 64-bit
 * values held in a long.
 *
 * <p>Supported: private anonymous memory (heap, stack, plain), private and shared file mappings,
 * shared anonymous memory (VMA_ANON_SHARED), shared mappings of a memfd (VMA_FILE_SHARED |
 * VMA_AREA_MEMFD, no path: the memfd is its shmid) and the kernel's special areas (vdso, vvar,
 * vsyscall). SysV shm, private memfd mappings, AIO rings, sockets, shadow stacks, guard regions
 * and uprobes areas are rejected.
 */
public record Vma(long start, long end, int prot, int flags, int status, long pgoff, String path, long madv,
        long shmid) {
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int PROT_EXEC = 0x4;

    public static final int MAP_SHARED = 0x1;
    public static final int MAP_PRIVATE = 0x2;
    public static final int MAP_DROPPABLE = 0x8;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_GROWSDOWN = 0x100;
    public static final int MAP_LOCKED = 0x2000;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MAP_HUGETLB = 0x40000;

    /** CRIU's status bits (criu/include/image.h), image ABI. */
    public static final int VMA_AREA_REGULAR = 1;
    public static final int VMA_AREA_STACK = 1 << 1;
    public static final int VMA_AREA_VSYSCALL = 1 << 2;
    public static final int VMA_AREA_VDSO = 1 << 3;
    public static final int VMA_AREA_HEAP = 1 << 5;
    public static final int VMA_FILE_PRIVATE = 1 << 6;
    public static final int VMA_FILE_SHARED = 1 << 7;
    public static final int VMA_ANON_SHARED = 1 << 8;
    public static final int VMA_ANON_PRIVATE = 1 << 9;
    public static final int VMA_AREA_SYSVIPC = 1 << 10;
    public static final int VMA_AREA_SOCKET = 1 << 11;
    public static final int VMA_AREA_VVAR = 1 << 12;
    public static final int VMA_AREA_AIORING = 1 << 13;
    public static final int VMA_AREA_MEMFD = 1 << 14;
    public static final int VMA_AREA_SHSTK = 1 << 15;
    public static final int VMA_AREA_GUARD = 1 << 16;
    public static final int VMA_AREA_UPROBES = 1 << 17;
    /** Runtime-only in CRIU; never in an image. */
    public static final int VMA_UNSUPP = 1 << 31;

    static final int SUPPORTED_STATUS = VMA_AREA_REGULAR | VMA_AREA_STACK | VMA_AREA_VSYSCALL | VMA_AREA_VDSO
            | VMA_AREA_HEAP | VMA_FILE_PRIVATE | VMA_FILE_SHARED | VMA_ANON_PRIVATE | VMA_AREA_VVAR | VMA_ANON_SHARED
            | VMA_AREA_MEMFD;
    static final int KNOWN_STATUS = (1 << 18) - 1 & ~(1 << 4);

    public Vma {
        String where = "vma 0x" + Long.toHexString(start) + "-0x" + Long.toHexString(end);
        if (start % PagemapIov.PAGE_SIZE != 0 || end % PagemapIov.PAGE_SIZE != 0) {
            throw new IllegalArgumentException(where + " is not page-aligned");
        }
        if (Long.compareUnsigned(start, end) >= 0) {
            throw new IllegalArgumentException(where + " is empty or inverted");
        }
        if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) != 0) {
            throw new IllegalArgumentException(where + ": unknown prot bits 0x" + Integer.toHexString(prot));
        }
        if (pgoff % PagemapIov.PAGE_SIZE != 0) {
            throw new IllegalArgumentException(where + ": file offset 0x" + Long.toHexString(pgoff) + " is not page-aligned");
        }
        if ((status & ~KNOWN_STATUS) != 0) {
            throw new IllegalArgumentException(where + ": unknown status bits 0x" + Integer.toHexString(status & ~KNOWN_STATUS));
        }
        if ((status & ~SUPPORTED_STATUS) != 0) {
            throw new IllegalArgumentException(where + ": " + statusNames(status & ~SUPPORTED_STATUS) + " is not supported");
        }
        int kind = status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED | VMA_ANON_PRIVATE | VMA_ANON_SHARED);
        if (Integer.bitCount(kind) != 1) {
            throw new IllegalArgumentException(where + ": status 0x" + Integer.toHexString(status)
                    + " needs exactly one of VMA_FILE_PRIVATE, VMA_FILE_SHARED, VMA_ANON_PRIVATE, VMA_ANON_SHARED");
        }
        boolean memfd = (status & VMA_AREA_MEMFD) != 0;
        if (memfd && kind != VMA_FILE_SHARED) {
            throw new IllegalArgumentException(where + ": a memfd mapping (VMA_AREA_MEMFD) must be VMA_FILE_SHARED");
        }
        int sharing = flags & (MAP_SHARED | MAP_PRIVATE);
        boolean anonymous = (flags & MAP_ANONYMOUS) != 0;
        boolean consistent = switch (kind) {
            case VMA_FILE_PRIVATE -> sharing == MAP_PRIVATE && !anonymous;
            case VMA_FILE_SHARED -> sharing == MAP_SHARED && !anonymous;
            case VMA_ANON_SHARED -> sharing == MAP_SHARED && anonymous;
            default -> sharing == MAP_PRIVATE && anonymous;
        };
        if (!consistent) {
            throw new IllegalArgumentException(where + ": flags 0x" + Integer.toHexString(flags)
                    + " do not match status " + statusNames(kind));
        }
        boolean shmem = kind == VMA_ANON_SHARED || memfd;
        if ((kind == VMA_ANON_PRIVATE || shmem) != (path == null)) {
            throw new IllegalArgumentException(where + (path == null ? ": a file mapping needs a path"
                    : shmem ? ": shared memory has no path (its shmid names it)" : ": anonymous memory has no path"));
        }
        if (shmem != (shmid != 0)) {
            throw new IllegalArgumentException(where + (shmem ? ": shared memory needs a shmid"
                    : ": shmid " + Long.toUnsignedString(shmid) + " on an area that is no shared memory"));
        }
        if (path != null) {
            FilePaths.check(path);
        }
    }

    /** An area of no shared memory object (shmid 0). */
    public Vma(long start, long end, int prot, int flags, int status, long pgoff, String path, long madv) {
        this(start, end, prot, flags, status, pgoff, path, madv, 0);
    }

    /** Whether it maps a {@link Shmem} object (shared anonymous memory or a memfd), named by {@link #shmid()}. */
    public boolean isShmem() {
        return shmid != 0;
    }

    /** Whether it maps a memfd. */
    public boolean isMemfd() {
        return (status & VMA_AREA_MEMFD) != 0;
    }

    public long length() {
        return end - start;
    }

    public long pages() {
        return length() / PagemapIov.PAGE_SIZE;
    }

    public boolean contains(long address) {
        return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
    }

    public boolean isFileBacked() {
        return path != null;
    }

    /** vdso, vvar or vsyscall: areas the kernel provides and restore moves rather than maps. */
    public boolean isSpecial() {
        return (status & (VMA_AREA_VDSO | VMA_AREA_VVAR | VMA_AREA_VSYSCALL)) != 0;
    }

    /**
     * Whether pages of this area may be restored lazily (CRIU-FACTS §1.5): private anonymous, not
     * locked, not hugetlb, and not vdso, vvar or vsyscall.
     */
    public boolean canBeLazy() {
        return (flags & (MAP_ANONYMOUS | MAP_PRIVATE)) == (MAP_ANONYMOUS | MAP_PRIVATE)
                && (flags & (MAP_LOCKED | MAP_HUGETLB)) == 0
                && !isSpecial();
    }

    @Override
    public String toString() {
        return "vma 0x" + Long.toHexString(start) + "-0x" + Long.toHexString(end) + " prot " + prot + " flags 0x"
                + Integer.toHexString(flags) + " " + statusNames(status) + (path == null ? "" : " " + path + " @" + pgoff)
                + (shmid == 0 ? "" : " shmid " + Long.toUnsignedString(shmid) + " @" + pgoff);
    }

    static String statusNames(int status) {
        String[] names = {"VMA_AREA_REGULAR", "VMA_AREA_STACK", "VMA_AREA_VSYSCALL", "VMA_AREA_VDSO", "bit4",
            "VMA_AREA_HEAP", "VMA_FILE_PRIVATE", "VMA_FILE_SHARED", "VMA_ANON_SHARED", "VMA_ANON_PRIVATE",
            "VMA_AREA_SYSVIPC", "VMA_AREA_SOCKET", "VMA_AREA_VVAR", "VMA_AREA_AIORING", "VMA_AREA_MEMFD",
            "VMA_AREA_SHSTK", "VMA_AREA_GUARD", "VMA_AREA_UPROBES"};
        StringBuilder s = new StringBuilder();
        for (int bit = 0; bit < 32; bit++) {
            if ((status & 1 << bit) != 0) {
                s.append(s.length() == 0 ? "" : "|").append(bit < names.length ? names[bit] : "bit" + bit);
            }
        }
        return s.length() == 0 ? "0" : s.toString();
    }
}
