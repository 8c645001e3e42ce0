package io.lazymig.jni;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The PAGEMAP_SCAN ioctl (Linux >= 6.7) on an open /proc/PID/pagemap, paired with
 * {@code lm_pagemap.c}: the pages of a range as runs of pages that share the same PAGE_IS_*
 * categories, one call for what /proc/PID/pagemap tells in 8 bytes per page. Categories need no
 * privilege (PFNs do). A kernel without the ioctl fails {@link #scan} with ENOTTY.
 *
 * <p>One instance holds the pagemap fd and a direct buffer of regions; it is not thread-safe (one
 * owning thread). {@link #scan} fills the buffer; {@link #start}, {@link #end} and
 * {@link #categories} read region {@code i} of the last scan, {@link #walkEnd} tells where it
 * stopped (the range's end, or less when the buffer filled up: scan again from there).
 */
public final class PagemapScan implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    public static final long PAGE_IS_WPALLOWED = constant("PAGE_IS_WPALLOWED");
    public static final long PAGE_IS_WRITTEN = constant("PAGE_IS_WRITTEN");
    public static final long PAGE_IS_FILE = constant("PAGE_IS_FILE");
    public static final long PAGE_IS_PRESENT = constant("PAGE_IS_PRESENT");
    public static final long PAGE_IS_SWAPPED = constant("PAGE_IS_SWAPPED");
    /** The page maps the shared zero page (the huge zero page included). */
    public static final long PAGE_IS_PFNZERO = constant("PAGE_IS_PFNZERO");
    public static final long PAGE_IS_HUGE = constant("PAGE_IS_HUGE");
    public static final long PAGE_IS_SOFT_DIRTY = constant("PAGE_IS_SOFT_DIRTY");
    /** sizeof(struct page_region): start, end, categories (u64 each). */
    private static final int REGION_SIZE = (int) constant("LM_PAGE_REGION_SIZE");

    private final FileDescriptor fd;
    private final ByteBuffer regions;
    private final int capacity;
    private final long[] walkEnd = new long[1];
    private int count;

    /** Opens /proc/{@code pid}/pagemap with room for {@code capacity} regions per scan. */
    public PagemapScan(int pid, int capacity) throws NativeException {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        this.capacity = capacity;
        this.regions = ByteBuffer.allocateDirect(capacity * REGION_SIZE).order(ByteOrder.nativeOrder());
        this.fd = FileDescriptor.open("/proc/" + pid + "/pagemap", FileDescriptor.O_RDONLY, 0);
    }

    /**
     * Scans [start, end) (page-aligned) for pages having any category of {@code anyOf}; each region
     * reports the categories of {@code reported}. Returns the number of regions (also
     * {@link #count()}); pages between regions have none of {@code anyOf}.
     *
     * @throws NativeException ENOTTY or EINVAL when this kernel has no PAGEMAP_SCAN (or not this form)
     */
    public int scan(long start, long end, long anyOf, long reported) throws NativeException {
        count = 0;
        long n = nativeScan(fd.fd(), start, end, Buffers.address(regions), capacity, anyOf, reported, walkEnd);
        count = (int) NativeException.check("ioctl(PAGEMAP_SCAN, 0x" + Long.toHexString(start) + "-0x"
                + Long.toHexString(end) + ")", n);
        return count;
    }

    /** The number of regions the last scan found. */
    public int count() {
        return count;
    }

    public int capacity() {
        return capacity;
    }

    /** Where the last scan stopped: its range's end when it covered it all. */
    public long walkEnd() {
        return walkEnd[0];
    }

    public long start(int i) {
        return regions.getLong(index(i));
    }

    public long end(int i) {
        return regions.getLong(index(i) + 8);
    }

    public long categories(int i) {
        return regions.getLong(index(i) + 16);
    }

    private int index(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("region " + i + " of " + count);
        }
        return i * REGION_SIZE;
    }

    @Override
    public void close() {
        fd.close();
    }

    private static native long constant(String name);

    private static native long nativeScan(int fd, long start, long end, long vec, int vecLen, long anyOf, long reported,
            long[] walkEnd);
}
