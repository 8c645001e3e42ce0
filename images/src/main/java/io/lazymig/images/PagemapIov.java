package io.lazymig.images;

/**
 * One pagemap entry: {@code nrPages} pages from {@code vaddr}, with CRIU's PE_* flags, and where
 * its data starts in pages-N.img ({@code pagesOffset}, or -1 when the entry is not PE_PRESENT).
 * Addresses are unsigned 64-bit values held in a long.
 */
public record PagemapIov(long vaddr, long nrPages, int flags, long pagesOffset) {
    /** The page size of x86_64 images. */
    public static final int PAGE_SIZE = 4096;
    /** The data is in the parent snapshot; nothing in this pages file. */
    public static final int PE_PARENT = 1;
    /** The pages may be restored lazily. */
    public static final int PE_LAZY = 1 << 1;
    /** The data is in this image's pages-N.img. */
    public static final int PE_PRESENT = 1 << 2;
    /**
     * lazymig's own flag, not CRIU's (crit shows it as 0x10000): the pages are the very pages of the
     * parent process (in the tree) at the same addresses, shared copy-on-write since a fork and
     * never written by either since; nothing in this pages file. Restore has the child inherit them
     * from its parent by the fork (or, failing that, copies the parent's). High, clear of CRIU's
     * next PE_* bits.
     */
    public static final int PE_COW = 1 << 16;
    static final int PE_KNOWN = PE_PARENT | PE_LAZY | PE_PRESENT | PE_COW;
    /** Keeps nrPages * PAGE_SIZE inside a long. */
    static final long MAX_PAGES = 1L << 51;

    public PagemapIov {
        if (vaddr % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("vaddr 0x" + Long.toHexString(vaddr) + " is not page-aligned");
        }
        if (nrPages <= 0 || nrPages > MAX_PAGES) {
            throw new IllegalArgumentException("iov at 0x" + Long.toHexString(vaddr) + ": bad page count "
                    + Long.toUnsignedString(nrPages));
        }
        if (Long.compareUnsigned(vaddr + nrPages * PAGE_SIZE, vaddr) <= 0) {
            throw new IllegalArgumentException("iov at 0x" + Long.toHexString(vaddr) + " with " + nrPages
                    + " pages runs past the end of the address space");
        }
        if ((flags & ~PE_KNOWN) != 0 || flags == 0) {
            throw new IllegalArgumentException("iov at 0x" + Long.toHexString(vaddr) + ": bad flags 0x"
                    + Integer.toHexString(flags) + " (known: PE_PARENT 1, PE_LAZY 2, PE_PRESENT 4, PE_COW 0x10000)");
        }
        if ((flags & PE_COW) != 0 && flags != PE_COW) {
            throw new IllegalArgumentException("iov at 0x" + Long.toHexString(vaddr) + ": PE_COW goes alone, not with 0x"
                    + Integer.toHexString(flags & ~PE_COW));
        }
        boolean present = (flags & PE_PRESENT) != 0;
        if (present ? pagesOffset < 0 || pagesOffset % PAGE_SIZE != 0 : pagesOffset != -1) {
            throw new IllegalArgumentException("iov at 0x" + Long.toHexString(vaddr) + ": pages offset "
                    + pagesOffset + (present ? " is not a page-aligned file offset" : " must be -1 (not PE_PRESENT)"));
        }
    }

    /** The exclusive end address. */
    public long end() {
        return vaddr + length();
    }

    public long length() {
        return nrPages * PAGE_SIZE;
    }

    public boolean isPresent() {
        return (flags & PE_PRESENT) != 0;
    }

    public boolean isLazy() {
        return (flags & PE_LAZY) != 0;
    }

    /** The pages are the parent process's, shared copy-on-write ({@link #PE_COW}). */
    public boolean isCow() {
        return (flags & PE_COW) != 0;
    }

    public boolean isParent() {
        return (flags & PE_PARENT) != 0;
    }

    public boolean contains(long address) {
        return Long.compareUnsigned(address, vaddr) >= 0 && Long.compareUnsigned(address, end()) < 0;
    }

    /** The offset in pages-N.img of the byte at {@code address}, which must be inside a PE_PRESENT iov. */
    public long fileOffset(long address) {
        if (!isPresent() || !contains(address)) {
            throw new IllegalArgumentException("0x" + Long.toHexString(address) + " has no data in pages file for " + this);
        }
        return pagesOffset + (address - vaddr);
    }

    @Override
    public String toString() {
        return "iov 0x" + Long.toHexString(vaddr) + "+" + nrPages + "p " + flagNames(flags)
                + (isPresent() ? " @" + pagesOffset : "");
    }

    static String flagNames(int flags) {
        StringBuilder s = new StringBuilder();
        if ((flags & PE_PARENT) != 0) {
            s.append("PE_PARENT|");
        }
        if ((flags & PE_LAZY) != 0) {
            s.append("PE_LAZY|");
        }
        if ((flags & PE_PRESENT) != 0) {
            s.append("PE_PRESENT|");
        }
        if ((flags & PE_COW) != 0) {
            s.append("PE_COW|");
        }
        return s.length() == 0 ? "0" : s.substring(0, s.length() - 1);
    }
}
