package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ranges the copy-on-write pages are cut by: merged whatever order they come in, cut exactly. */
class PageRangesTest {
    private static List<String> cut(PageRanges r, long start, long end) throws Exception {
        List<String> out = new ArrayList<>();
        r.cut(start, end, (s, e, in) -> out.add(Long.toHexString(s) + "-" + Long.toHexString(e) + (in ? " in" : " out")));
        return out;
    }

    @Test
    void cutsARangeIntoPiecesInsideAndOutside() throws Exception {
        PageRanges r = new PageRanges();
        r.add(0x3000, 0x5000);
        r.add(0x8000, 0x9000);
        assertEquals(List.of("1000-3000 out", "3000-5000 in", "5000-8000 out", "8000-9000 in", "9000-a000 out"),
                cut(r, 0x1000, 0xa000));
        assertEquals(List.of("4000-5000 in", "5000-6000 out"), cut(r, 0x4000, 0x6000));
        assertEquals(List.of("6000-7000 out"), cut(r, 0x6000, 0x7000));
        assertEquals(0x3000, r.bytes());
    }

    @Test
    void mergesRangesAddedOutOfOrderOrOverlapping() throws Exception {
        PageRanges r = new PageRanges();
        r.add(0x8000, 0x9000);
        r.add(0x2000, 0x4000);
        r.add(0x3000, 0x8000); // a second child sharing part of the same
        r.add(0x9000, 0x9000);
        assertEquals(List.of("1000-2000 out", "2000-9000 in"), cut(r, 0x1000, 0x9000));
        assertEquals(0x7000, r.bytes());
        assertEquals(List.of("1000-2000 out"), cut(PageRanges.NONE, 0x1000, 0x2000));
    }
}
