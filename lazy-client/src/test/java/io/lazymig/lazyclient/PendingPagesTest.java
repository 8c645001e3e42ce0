package io.lazymig.lazyclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PendingPagesTest {
    private static final long P = 4096;

    @Test
    void takeSplitsRunsAndKeepsSources() {
        PendingPages p = new PendingPages();
        p.add(10 * P, 20 * P, 110 * P);
        List<PendingPages.Run> got = p.take(12 * P, 14 * P);
        assertEquals(List.of(new PendingPages.Run(12 * P, 14 * P, 112 * P)), got);
        assertEquals(8 * P, p.bytes());
        assertEquals(new PendingPages.Run(10 * P, 12 * P, 110 * P), p.find(11 * P));
        assertEquals(new PendingPages.Run(14 * P, 20 * P, 114 * P), p.find(19 * P));
        assertNull(p.find(13 * P));
    }

    @Test
    void takeAcrossSeveralRuns() {
        PendingPages p = new PendingPages();
        p.add(0, 2 * P, 0);
        p.add(4 * P, 6 * P, 4 * P);
        List<PendingPages.Run> got = p.take(P, 5 * P);
        assertEquals(List.of(new PendingPages.Run(P, 2 * P, P), new PendingPages.Run(4 * P, 5 * P, 4 * P)), got);
        assertEquals(2 * P, p.bytes());
    }

    @Test
    void remapMovesDataSourcesWithTheMemory() {
        PendingPages p = new PendingPages();
        p.add(10 * P, 20 * P, 10 * P);
        p.remap(12 * P, 100 * P, 4 * P);
        assertEquals(new PendingPages.Run(100 * P, 104 * P, 12 * P), p.find(101 * P));
        assertNull(p.find(13 * P));
        assertEquals(10 * P, p.bytes());
    }

    @Test
    void removeDropsAndNextFromWrapsAround() {
        PendingPages p = new PendingPages();
        p.add(10 * P, 20 * P, 10 * P);
        p.add(30 * P, 40 * P, 30 * P);
        p.remove(0, 20 * P);
        assertEquals(30 * P, p.nextFrom(50 * P).start());
        assertEquals(30 * P, p.nextFrom(0).start());
        p.remove(0, 100 * P);
        assertTrue(p.isEmpty());
        assertNull(p.nextFrom(0));
    }

    @Test
    void takingAWindowWithNothingPendingIsEmpty() {
        PendingPages p = new PendingPages();
        p.add(10 * P, 20 * P, 10 * P);
        assertTrue(p.take(2 * P, 4 * P).isEmpty());
        assertTrue(p.take(20 * P, 30 * P).isEmpty());
        assertEquals(10 * P, p.bytes());
    }

    @Test
    void forkedCopyIsIndependent() {
        PendingPages p = new PendingPages();
        p.add(0, 8 * P, 0);
        PendingPages child = p.copy();
        child.take(0, 4 * P);
        assertEquals(8 * P, p.bytes());
        assertEquals(4 * P, child.bytes());
    }
}
