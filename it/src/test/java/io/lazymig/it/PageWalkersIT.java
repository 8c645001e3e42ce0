package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.dump.MapsEntry;
import io.lazymig.dump.PageWalker;
import io.lazymig.dump.PagemapReadWalker;
import io.lazymig.dump.PagemapScanWalker;
import io.lazymig.dump.ProcSmaps;
import io.lazymig.dump.VmaClassifier;
import io.lazymig.images.Vma;
import io.lazymig.jni.SystemInfo;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The two ways the dump finds a process's pages, PAGEMAP_SCAN and the /proc/PID/pagemap read, give
 * the same runs of pages in every VMA the dump walks, on the sample workloads held still by SIGSTOP
 * (written heap, never-written pages mapping the zero page, copy-on-write pages of file mappings).
 * On a kernel without PAGEMAP_SCAN (before 6.7) there is nothing to compare: the test says so.
 */
class PageWalkersIT {
    @ParameterizedTest
    @ValueSource(strings = { "checksum-loop", "checksum-loop-static", "python" })
    @Timeout(120)
    void scanAndReadFindTheSamePages(String which) throws Exception {
        try (Workload w = Workload.checksum(which, 16, 100)) {
            w.awaitFirstLine();
            w.stop();
            long page = SystemInfo.PAGE_SIZE;
            try (PagemapScanWalker scan = PagemapScanWalker.open(w.pid, page);
                 PagemapReadWalker read = PagemapReadWalker.open(w.pid, page)) {
                if (scan == null) {
                    assertFalse(atLeast(6, 7), "this kernel (" + System.getProperty("os.version")
                            + ") should have PAGEMAP_SCAN");
                    System.out.println("PageWalkersIT: no PAGEMAP_SCAN on this kernel: nothing to compare");
                    return;
                }
                int walked = 0;
                long pages = 0;
                for (MapsEntry m : ProcSmaps.read(w.pid)) {
                    Vma vma = VmaClassifier.classify(m);
                    if (!PageWalker.walked(vma)) {
                        continue;
                    }
                    List<long[]> byScan = ranges(scan, vma);
                    List<long[]> byRead = ranges(read, vma);
                    assertEquals(show(byRead), show(byScan), "pages of " + m);
                    walked++;
                    pages += byScan.stream().mapToLong(r -> (r[1] - r[0]) / page).sum();
                }
                assertTrue(walked > 0, "no VMA was walked");
                System.out.printf("%s: %d VMAs walked, %d pages, same by both walkers%n", which, walked, pages);
            }
        }
    }

    private static List<long[]> ranges(PageWalker walker, Vma vma) throws Exception {
        List<long[]> out = new ArrayList<>();
        walker.walk(vma, (start, end) -> {
            assertTrue(start < end && start >= vma.start() && end <= vma.end(), "range outside " + vma);
            if (!out.isEmpty()) {
                assertTrue(out.get(out.size() - 1)[1] < start, "ranges not ascending and apart");
            }
            out.add(new long[] {start, end});
        });
        return out;
    }

    private static List<String> show(List<long[]> ranges) {
        return ranges.stream().map(r -> Long.toHexString(r[0]) + "-" + Long.toHexString(r[1])).toList();
    }

    private static boolean atLeast(int major, int minor) {
        String[] v = System.getProperty("os.version").split("[.-]");
        int ma = Integer.parseInt(v[0]);
        int mi = Integer.parseInt(v[1]);
        return ma > major || (ma == major && mi >= minor);
    }
}
