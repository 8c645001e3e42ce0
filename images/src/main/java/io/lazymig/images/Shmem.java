package io.lazymig.images;

import java.util.Objects;

/**
 * One shared memory object of the tree, dumped once however many processes map it (CRIU's
 * shmem: CRIU-FACTS §4.7): MAP_SHARED anonymous memory (also inherited across fork) or a memfd.
 * {@code shmid} is its shmem inode number at dump, which the VMAs mapping it carry
 * ({@link Vma#shmid()}) and which names {@code pagemap-shmem-SHMID.img}; {@code size} its size in
 * bytes; its pagemap's vaddr is the byte offset in the object (as in CRIU), with the data in
 * {@code pages-PAGESID.img} — pages that were never written (holes) or all zero are absent and read
 * back as zero. Anonymous memory is a whole number of pages; a memfd has the exact size it had
 * (its last page holds zeros past it). A memfd also has its name (without "memfd:"), owner and seals ({@code memfd.img});
 * anonymous memory has a null name.
 */
public record Shmem(long shmid, long size, String memfdName, int uid, int gid, int seals, Pagemap pagemap) {
    /** The longest name memfd_create takes (NAME_MAX less "memfd:"). */
    public static final int MAX_NAME = 249;

    public Shmem {
        Objects.requireNonNull(pagemap, "pagemap");
        String what = "shmem " + Long.toUnsignedString(shmid);
        if (shmid <= 0 || shmid > 0xffffffffL) {
            throw new IllegalArgumentException(what + ": shmid out of range (1 to 2^32-1)");
        }
        if (memfdName == null ? size <= 0 || size % PagemapIov.PAGE_SIZE != 0 : size < 0) {
            throw new IllegalArgumentException(what + ": size " + size + (memfdName == null
                    ? " is not a positive number of pages" : " is negative"));
        }
        if (memfdName != null && (memfdName.length() > MAX_NAME || memfdName.indexOf('\0') >= 0)) {
            throw new IllegalArgumentException(what + ": memfd name too long or with a NUL");
        }
        if (memfdName == null && (seals != 0 || uid != 0 || gid != 0)) {
            throw new IllegalArgumentException(what + ": anonymous shared memory has no seals or owner");
        }
        for (PagemapIov iov : pagemap.iovs()) {
            if (iov.isLazy() || !iov.isPresent()) {
                throw new IllegalArgumentException(what + ": page at offset 0x" + Long.toHexString(iov.vaddr())
                        + " is not PE_PRESENT only (shared memory is restored eagerly)");
            }
            if (iov.vaddr() < 0 || iov.end() > pagesEnd(size) || iov.end() < iov.vaddr()) {
                throw new IllegalArgumentException(what + ": pages at 0x" + Long.toHexString(iov.vaddr()) + "-0x"
                        + Long.toHexString(iov.end()) + " lie beyond its size " + size);
            }
        }
    }

    /** The end of the last page that holds bytes of an object of {@code size} bytes. */
    private static long pagesEnd(long size) {
        return (size + PagemapIov.PAGE_SIZE - 1) & -PagemapIov.PAGE_SIZE;
    }

    public boolean isMemfd() {
        return memfdName != null;
    }

    /** What it is, for messages. */
    public String describe() {
        return (isMemfd() ? "memfd " + memfdName : "shared anonymous memory") + " (shmid " + shmid + ", " + size
                + " bytes)";
    }
}
