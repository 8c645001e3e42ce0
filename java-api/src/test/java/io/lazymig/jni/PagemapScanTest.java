package io.lazymig.jni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * PAGEMAP_SCAN on this JVM's own pagemap, over a fresh mapping of eight pages whose state the test
 * sets: written pages are present and not the zero page, untouched ones are in no region, and a
 * full region buffer stops the walk where a second scan picks it up. A kernel before 6.7 must
 * answer ENOTTY.
 */
class PagemapScanTest {
    private static final long PAGE = SystemInfo.PAGE_SIZE;
    private static final long PRESENT = PagemapScan.PAGE_IS_PRESENT;
    private static final long REPORTED = PRESENT | PagemapScan.PAGE_IS_SWAPPED | PagemapScan.PAGE_IS_PFNZERO
            | PagemapScan.PAGE_IS_FILE;

    @Test
    void writtenPagesAreFoundUntouchedOnesAreNot() throws Exception {
        long addr = Memory.mapAnonymous(8 * PAGE);
        try (PagemapScan scan = new PagemapScan((int) ProcessHandle.current().pid(), 16)) {
            if (!scanWorks(scan)) {
                return;
            }
            // pages 0, 1 and 5 written; 3 read (the zero page, or a fresh page on a kernel that does not share it)
            Memory.view(addr, (int) (8 * PAGE)).put(0, (byte) 1).put((int) PAGE, (byte) 2).put((int) (5 * PAGE), (byte) 3);
            Memory.view(addr, (int) (8 * PAGE)).get((int) (3 * PAGE));

            int n = scan.scan(addr, addr + 8 * PAGE, PRESENT | PagemapScan.PAGE_IS_SWAPPED, REPORTED);
            assertEquals(addr + 8 * PAGE, scan.walkEnd(), "one scan covers the range");
            List<String> written = new ArrayList<>();
            long pages = 0;
            for (int i = 0; i < n; i++) {
                long c = scan.categories(i);
                assertTrue((c & PRESENT) != 0, "a region without PAGE_IS_PRESENT: 0x" + Long.toHexString(c));
                assertEquals(0, c & ~REPORTED, "categories outside the reported mask");
                assertTrue(scan.start(i) < scan.end(i));
                pages += (scan.end(i) - scan.start(i)) / PAGE;
                if ((c & PagemapScan.PAGE_IS_PFNZERO) == 0 && scan.start(i) != addr + 3 * PAGE) {
                    written.add((scan.start(i) - addr) / PAGE + "-" + (scan.end(i) - addr) / PAGE);
                }
            }
            assertEquals(List.of("0-2", "5-6"), written, "the written pages, as runs of pages (index-end)");
            assertEquals(4, pages, "pages 0, 1, 3 and 5 are mapped; 2, 4, 6 and 7 were never touched");
        } finally {
            Memory.unmap(addr, 8 * PAGE);
        }
    }

    @Test
    void aFullBufferStopsTheWalkAndTellsWhere() throws Exception {
        long addr = Memory.mapAnonymous(8 * PAGE);
        try (PagemapScan scan = new PagemapScan((int) ProcessHandle.current().pid(), 1)) {
            if (!scanWorks(scan)) {
                return;
            }
            Memory.view(addr, (int) (8 * PAGE)).put(0, (byte) 1).put((int) (4 * PAGE), (byte) 1);
            assertEquals(1, scan.scan(addr, addr + 8 * PAGE, PRESENT, PRESENT));
            assertEquals(addr, scan.start(0));
            assertTrue(scan.walkEnd() > addr && scan.walkEnd() <= addr + 4 * PAGE, "stopped before the second run");
            assertEquals(1, scan.scan(scan.walkEnd(), addr + 8 * PAGE, PRESENT, PRESENT));
            assertEquals(addr + 4 * PAGE, scan.start(0));
            assertEquals(addr + 5 * PAGE, scan.end(0));
            assertThrows(IndexOutOfBoundsException.class, () -> scan.start(1));
        } finally {
            Memory.unmap(addr, 8 * PAGE);
        }
    }

    /** True when PAGEMAP_SCAN works; false (after checking the kernel is older than 6.7) when it answers ENOTTY. */
    private static boolean scanWorks(PagemapScan scan) throws NativeException {
        try {
            scan.scan(0, PAGE, PRESENT, PRESENT);
            return true;
        } catch (NativeException e) {
            assertEquals(Errno.ENOTTY, e.errno(), e.getMessage());
            String[] v = System.getProperty("os.version").split("[.-]");
            int major = Integer.parseInt(v[0]);
            int minor = Integer.parseInt(v[1]);
            assertFalse(major > 6 || (major == 6 && minor >= 7), "a " + major + "." + minor + " kernel has PAGEMAP_SCAN");
            return false;
        }
    }
}
