package io.lazymig.dump;

import io.lazymig.images.Vma;
import io.lazymig.jni.Memory;
import io.lazymig.jni.NativeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The dumped pages by reading /proc/PID/pagemap, 8 bytes a page, for kernels without PAGEMAP_SCAN.
 * Pages mapping the shared zero page are known by their PFN, learnt from pages of our own: the
 * 4 KiB zero page, and the huge zero page's 512 PFNs when this kernel maps it. PFNs read as 0
 * without CAP_SYS_ADMIN; then no zero page is recognised (they are dumped, as zeros).
 */
public final class PagemapReadWalker implements PageWalker {
    private static final Path PMD_SIZE = Path.of("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");

    private final ProcPagemap pagemap;
    private final long pageSize;
    private final long zeroPfn;
    private final long hugeZeroPfn;
    private final long hugePages;

    private PagemapReadWalker(ProcPagemap pagemap, long pageSize, long zeroPfn, long hugeZeroPfn, long hugePages) {
        this.pagemap = pagemap;
        this.pageSize = pageSize;
        this.zeroPfn = zeroPfn;
        this.hugeZeroPfn = hugeZeroPfn;
        this.hugePages = hugePages;
    }

    public static PagemapReadWalker open(int pid, long pageSize) throws IOException {
        long zero = zeroPagePfn(pageSize);
        long hugeSize = hugePageSize();
        long hugeZero = hugeSize == 0 ? 0 : hugeZeroPagePfn(pageSize, hugeSize, zero);
        return new PagemapReadWalker(new ProcPagemap(pid, pageSize), pageSize, zero, hugeZero, hugeSize / pageSize);
    }

    @Override
    public void walk(Vma vma, RangeSink sink) throws IOException {
        long[] entries = pagemap.read(vma.start(), vma.end());
        boolean file = vma.isFileBacked();
        int runStart = -1;
        for (int i = 0; i <= entries.length; i++) {
            boolean dumped = i < entries.length && dumped(file, entries[i]);
            if (dumped && runStart < 0) {
                runStart = i;
            } else if (!dumped && runStart >= 0) {
                sink.range(vma.start() + runStart * pageSize, vma.start() + i * pageSize);
                runStart = -1;
            }
        }
    }

    /** The rules (see {@link PageWalker}) on one pagemap entry. */
    boolean dumped(boolean fileBacked, long entry) {
        boolean present = ProcPagemap.present(entry);
        boolean swapped = ProcPagemap.swapped(entry);
        if (fileBacked) {
            return (present || swapped) && !ProcPagemap.fileOrShared(entry);
        }
        return swapped || (present && !isZero(ProcPagemap.pfn(entry)));
    }

    private boolean isZero(long pfn) {
        return (zeroPfn != 0 && pfn == zeroPfn)
                || (hugeZeroPfn != 0 && pfn >= hugeZeroPfn && pfn < hugeZeroPfn + hugePages);
    }

    @Override
    public String name() {
        return "pagemap read";
    }

    @Override
    public void close() throws IOException {
        pagemap.close();
    }

    /**
     * The PFN of the shared zero page, or 0 (no page is then skipped as zero): two fresh anonymous
     * pages of our own read-faulted and looked up in our pagemap. Only a PFN both share is the zero
     * page: on a kernel that backs a read fault with a fresh page, one page's PFN would be an ordinary
     * page, freed at the unmap and perhaps soon holding the process's data, which the dump would then
     * drop.
     */
    static long zeroPagePfn(long page) throws IOException {
        long[] pfn = readFaultedPfns(page, page, page, 1);
        return pfn != null && pfn[0] == pfn[1] ? pfn[0] : 0;
    }

    /**
     * The first PFN of the huge zero page, or 0: two huge-page-aligned areas of our own with
     * MADV_HUGEPAGE, read-faulted. It is the huge zero page when both map the same PFN, it is not
     * the 4 KiB zero page, and the next page of each maps the next PFN (a whole huge page is mapped).
     */
    static long hugeZeroPagePfn(long page, long huge, long zeroPfn) throws IOException {
        long[] pfn = readFaultedPfns(page, huge, huge, 2);
        if (pfn == null || pfn[0] != pfn[2] || pfn[0] == zeroPfn || pfn[1] != pfn[0] + 1 || pfn[3] != pfn[2] + 1) {
            return 0;
        }
        return pfn[0];
    }

    /**
     * Maps two areas of {@code size} aligned to {@code align}, read-faults the first page of each and
     * returns the PFNs of the first {@code pagesEach} pages of each (null when any is not present).
     */
    private static long[] readFaultedPfns(long page, long size, long align, int pagesEach) throws IOException {
        long len = 2 * size + align;
        long raw = Memory.mapAnonymous(len);
        try {
            long[] out = new long[2 * pagesEach];
            try (ProcPagemap self = new ProcPagemap((int) ProcessHandle.current().pid(), page)) {
                for (int k = 0; k < 2; k++) {
                    long addr = ((raw + align - 1) & -align) + k * size;
                    if (align > page) {
                        Memory.advise(addr, size, Memory.MADV_HUGEPAGE);
                    }
                    Memory.view(addr, (int) page).get(0);
                    long[] e = self.read(addr, addr + pagesEach * page);
                    for (int i = 0; i < pagesEach; i++) {
                        if (!ProcPagemap.present(e[i])) {
                            return null;
                        }
                        out[k * pagesEach + i] = ProcPagemap.pfn(e[i]);
                    }
                }
            }
            return out;
        } catch (NativeException e) {
            return null; // no MADV_HUGEPAGE here (EINVAL without THP): no huge zero page either
        } finally {
            Memory.unmap(raw, len);
        }
    }

    private static long hugePageSize() throws IOException {
        try {
            return Long.parseLong(Files.readString(PMD_SIZE).strip());
        } catch (NoSuchFileException e) {
            return 0;
        }
    }
}
