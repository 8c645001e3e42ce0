package io.lazymig.lazyclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.MmInfo;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.ProcessState;
import io.lazymig.images.Registers;
import io.lazymig.images.ThreadState;
import io.lazymig.images.UserRegs;
import io.lazymig.images.Vma;
import io.lazymig.images.XsaveLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The daemon's bookkeeping of one process, from a checkpoint: which pages are pending, and how
 * fetches in flight follow layout changes. The process is marked gone, so no UFFDIO_WAKE is issued
 * (the wakes themselves are the ITs' business).
 */
class LazyProcessTest {
    private static final long P = PagemapIov.PAGE_SIZE;
    private static final long HEAP = 0x10000000L;
    private static final long FILE = 0x20000000L;

    /** A heap of 16 pages (lazy-capable) and a private file mapping of 4 (not). */
    private static Checkpoint checkpoint(Pagemap pm) {
        int anon = Vma.MAP_PRIVATE | Vma.MAP_ANONYMOUS;
        List<Vma> vmas = List.of(
                new Vma(HEAP, HEAP + 16 * P, 3, anon, Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_PRIVATE | Vma.VMA_AREA_HEAP, 0, null, 0),
                new Vma(FILE, FILE + 4 * P, 1, Vma.MAP_PRIVATE, Vma.VMA_AREA_REGULAR | Vma.VMA_FILE_PRIVATE, 0, "/bin/x", 0));
        ProcessState state = ProcessState.builder().pid(7).comm("t").exePath("/bin/x")
                .mm(new MmInfo(FILE, FILE, FILE, FILE, FILE, HEAP, HEAP, FILE, FILE, FILE, FILE, new long[] {0, 0})).build();
        Registers regs = new Registers(UserRegs.fromArray(new long[UserRegs.COUNT]), new byte[XsaveLayout.LEGACY_SIZE],
                XsaveLayout.LEGACY);
        return Checkpoint.of(new ProcessImage(state, List.of(ThreadState.plain(7, regs, "t")), vmas, pm, List.of()), List.of());
    }

    private static LazyProcess restored(Checkpoint cp) {
        LazyProcess p = LazyProcess.restored(7, null, cp);
        p.gone = true;
        return p;
    }

    @Test
    void onlyLazyPagesOfLazyCapableVmasArePending() {
        Pagemap pm = Pagemap.builder(1)
                .add(HEAP, 2, PagemapIov.PE_PRESENT)
                .add(HEAP + 4 * P, 8, PagemapIov.PE_LAZY)
                .add(HEAP + 12 * P, 2, PagemapIov.PE_LAZY | PagemapIov.PE_PRESENT)
                .add(FILE, 1, PagemapIov.PE_PRESENT)
                .build();
        LazyProcess p = restored(checkpoint(pm));
        assertEquals(10 * P, p.pending.bytes(), "the 8 remote-only and 2 lazy-and-present heap pages");
        assertNull(p.pending.find(HEAP), "an eager page is restore's, not pending");
        assertEquals(new PendingPages.Run(HEAP + 4 * P, HEAP + 12 * P, HEAP + 4 * P), p.pending.find(HEAP + 5 * P));
        assertFalse(p.complete());
    }

    @Test
    void aFetchWhollyInsideARemapMovesWithIt() {
        LazyProcess p = restored(checkpoint(Pagemap.builder(1).add(HEAP, 8, PagemapIov.PE_LAZY).build()));
        Fetch f = new Fetch(p, p.pending.take(HEAP, HEAP + 2 * P).get(0), Stats.Kind.FAULT, HEAP);
        p.inFlight.add(f);
        p.remap(HEAP, 0x30000000L, 8 * P);
        assertEquals(0x30000000L, f.start);
        assertEquals(0x30000000L, f.faultPage);
        assertEquals(HEAP, f.source, "the data still comes from its dump-time address");
        assertFalse(f.dropped);
        assertSame(f, p.fetching(0x30000000L + P));
        assertEquals(6 * P, p.pending.bytes());
    }

    @Test
    void anUnmapCuttingIntoAFetchGivesItsRestBackAndDropsWhatWasUnmapped() {
        LazyProcess p = restored(checkpoint(Pagemap.builder(1).add(HEAP, 8, PagemapIov.PE_LAZY).build()));
        Fetch f = new Fetch(p, p.pending.take(HEAP, HEAP + 4 * P).get(0), Stats.Kind.BACKGROUND, -1);
        f.done = P; // one page already copied in
        p.inFlight.add(f);
        p.drop(HEAP + 2 * P, HEAP + 3 * P);
        assertTrue(f.dropped);
        assertNull(p.fetching(HEAP + P));
        assertEquals(new PendingPages.Run(HEAP + P, HEAP + 2 * P, HEAP + P), p.pending.find(HEAP + P));
        assertNull(p.pending.find(HEAP + 2 * P), "unmapped: no data needed there any more");
        assertEquals(new PendingPages.Run(HEAP + 3 * P, HEAP + 4 * P, HEAP + 3 * P), p.pending.find(HEAP + 3 * P));
        assertEquals(6 * P, p.pending.bytes(), "pages 1 and 3 given back, 4..7 never taken");
    }

    @Test
    void aForkedChildMissesWhatItsParentMissesIncludingPagesInFlight() {
        LazyProcess p = restored(checkpoint(Pagemap.builder(1).add(HEAP, 8, PagemapIov.PE_LAZY).build()));
        Fetch f = new Fetch(p, p.pending.take(HEAP, HEAP + 2 * P).get(0), Stats.Kind.FAULT, HEAP);
        p.inFlight.add(f);
        LazyProcess child = p.forkChild(null);
        assertTrue(child.forkedChild);
        assertEquals(8 * P, child.pending.bytes(), "the child's copies of the in-flight pages are still missing");
        assertEquals(6 * P, p.pending.bytes());
        assertTrue(child.inFlight.isEmpty());
    }
}
