package io.lazymig.dump;

import io.lazymig.images.Vma;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the pages of a frozen process the dump takes, VMA by VMA, under CRIU's rules
 * (KERNEL-FACTS §2, CRIU-FACTS §1.5): in a private anonymous VMA every page that is present and
 * not the shared zero page, or swapped; in a private file VMA only the copy-on-write pages
 * (present or swapped, and not a page of the file). Two ways to ask the kernel, same answer:
 * {@link PagemapScanWalker} (the PAGEMAP_SCAN ioctl, Linux >= 6.7: runs of pages by category) and
 * {@link PagemapReadWalker} (reading /proc/PID/pagemap, 8 bytes a page). {@link #open} takes the
 * first when the kernel has it.
 */
public interface PageWalker extends AutoCloseable {
    /** {@code -Dlazymig.dump.pagemap=read} makes {@link #open} read /proc/PID/pagemap even when PAGEMAP_SCAN works. */
    String PROPERTY = "lazymig.dump.pagemap";

    /** Receives runs of dumped pages: [start, end), page-aligned, ascending, never adjacent. */
    interface RangeSink {
        void range(long start, long end) throws IOException;
    }

    /** Calls {@code sink} with each maximal run of pages of {@code vma} that the dump takes, in address order. */
    void walk(Vma vma, RangeSink sink) throws IOException;

    /** How this walker asks the kernel, for the log ("PAGEMAP_SCAN", "pagemap read"). */
    String name();

    @Override
    void close() throws IOException;

    /** Whether the dump looks at the pages of {@code vma} at all: private, and not a kernel-provided area. */
    static boolean walked(Vma vma) {
        return !vma.isSpecial() && (vma.flags() & Vma.MAP_SHARED) == 0;
    }

    /** The walker for process {@code pid}: PAGEMAP_SCAN when this kernel has it, else the pagemap read. */
    static PageWalker open(int pid, long pageSize) throws IOException {
        Logger log = LoggerFactory.getLogger("lazymig.dump");
        if (!"read".equals(System.getProperty(PROPERTY))) {
            PageWalker scan = PagemapScanWalker.open(pid, pageSize);
            if (scan != null) {
                return scan;
            }
            log.debug("dump: no PAGEMAP_SCAN on this kernel: reading /proc/{}/pagemap", pid);
        }
        return PagemapReadWalker.open(pid, pageSize);
    }
}
