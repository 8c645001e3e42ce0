package io.lazymig.dump;

import io.lazymig.images.Vma;
import io.lazymig.jni.Errno;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.PagemapScan;
import java.io.IOException;

/**
 * The dumped pages by PAGEMAP_SCAN: one ioctl per VMA (more only when a VMA has more runs than the
 * buffer holds) returns the runs of present or swapped pages with the categories the rules need.
 * A page mapping the shared zero page (or the huge zero page) is PAGE_IS_PFNZERO, so no zero-page
 * PFN has to be learnt and no privilege is needed; a page of the file is PAGE_IS_FILE.
 */
public final class PagemapScanWalker implements PageWalker {
    /** Regions per ioctl: 4096 x 24 bytes. A 1 GiB workload's heap is one region. */
    static final int REGIONS = 4096;

    private static final long PRESENT = PagemapScan.PAGE_IS_PRESENT;
    private static final long SWAPPED = PagemapScan.PAGE_IS_SWAPPED;
    private static final long ZERO = PagemapScan.PAGE_IS_PFNZERO;
    private static final long FILE = PagemapScan.PAGE_IS_FILE;

    private final PagemapScan scan;
    private final long pageSize;

    private PagemapScanWalker(PagemapScan scan, long pageSize) {
        this.scan = scan;
        this.pageSize = pageSize;
    }

    /** The walker, or null when this kernel has no PAGEMAP_SCAN (ENOTTY before 6.7; EINVAL for a form it lacks). */
    public static PagemapScanWalker open(int pid, long pageSize) throws IOException {
        PagemapScan s = new PagemapScan(pid, REGIONS);
        try {
            s.scan(0, pageSize, PRESENT, PRESENT); // page 0 is never mapped: only whether the call works
            return new PagemapScanWalker(s, pageSize);
        } catch (NativeException e) {
            s.close();
            if (e.errno() == Errno.ENOTTY || e.errno() == Errno.EINVAL) {
                return null;
            }
            throw e;
        }
    }

    @Override
    public void walk(Vma vma, RangeSink sink) throws IOException {
        boolean file = vma.isFileBacked();
        long reported = PRESENT | SWAPPED | (file ? FILE : ZERO);
        long runStart = -1;
        long runEnd = -1;
        long at = vma.start();
        while (at < vma.end()) {
            int n = scan.scan(at, vma.end(), PRESENT | SWAPPED, reported);
            for (int i = 0; i < n; i++) {
                if (!dumped(file, scan.categories(i))) {
                    continue;
                }
                long s = scan.start(i);
                if (s != runEnd) {
                    if (runStart >= 0) {
                        sink.range(runStart, runEnd);
                    }
                    runStart = s;
                }
                runEnd = scan.end(i);
            }
            long stopped = scan.walkEnd();
            if (stopped <= at) {
                throw new IOException("PAGEMAP_SCAN made no progress at 0x" + Long.toHexString(at));
            }
            at = stopped;
        }
        if (runStart >= 0) {
            sink.range(runStart, runEnd);
        }
    }

    /** The rules (see {@link PageWalker}) on a region's categories. */
    static boolean dumped(boolean fileBacked, long categories) {
        boolean present = (categories & PRESENT) != 0;
        boolean swapped = (categories & SWAPPED) != 0;
        if (fileBacked) {
            return (present || swapped) && (categories & FILE) == 0;
        }
        return swapped || (present && (categories & ZERO) == 0);
    }

    @Override
    public String name() {
        return "PAGEMAP_SCAN";
    }

    @Override
    public void close() {
        scan.close();
    }
}
