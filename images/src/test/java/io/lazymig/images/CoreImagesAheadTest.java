package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Core images encoded ahead are taken once, by the same objects only, and are the images encodeAll makes. */
class CoreImagesAheadTest {
    private static List<ThreadState> threads(int n) {
        List<ThreadState> out = new ArrayList<>();
        out.add(Samples.leader());
        for (int i = 1; i < n; i++) {
            byte[] area = Samples.registers().xstate();
            area[600] = (byte) (i % 3);
            out.add(ThreadState.plain(Samples.PID + i, new Registers(Samples.regs(), area, Samples.registers().layout()),
                    "t" + i));
        }
        return out;
    }

    @Test
    void takenOnceByTheSameObjects() {
        ProcessState p = Samples.state();
        List<ThreadState> ts = threads(40);
        CoreImagesAhead.start(p, ts);
        assertNull(CoreImagesAhead.take(Samples.state(), ts), "another state object: not these images");
        assertNull(CoreImagesAhead.take(p, threads(40)), "other thread objects: not these images");
        List<byte[]> got = CoreImagesAhead.take(p, List.copyOf(ts));
        assertEquals(ts.size(), got.size());
        for (int i = 0; i < ts.size(); i++) {
            assertArrayEquals(CoreCodec.encode(p, ts.get(i)).toByteArray(), got.get(i), "thread " + i);
        }
        assertNull(CoreImagesAhead.take(p, ts), "taken already");
    }

    @Test
    void encodeAllTakesThemAndOldJobsAreDropped() {
        ProcessState p = Samples.state();
        List<ThreadState> first = threads(CoreImagesAhead.FROM);
        CoreImagesAhead.start(p, first);
        for (int i = 0; i < CoreImagesAhead.KEPT; i++) {
            CoreImagesAhead.start(Samples.state(), threads(CoreImagesAhead.FROM));
        }
        assertNull(CoreImagesAhead.take(p, first), "the oldest job was dropped");
        assertEquals(CoreImagesAhead.KEPT, CoreImagesAhead.pending());
        List<ThreadState> ts = threads(CoreImagesAhead.FROM + 1);
        CoreImagesAhead.start(p, ts);
        List<byte[]> all = CoreCodec.encodeAll(p, ts);
        for (int i = 0; i < ts.size(); i++) {
            assertArrayEquals(CoreCodec.encode(p, ts.get(i)).toByteArray(), all.get(i), "thread " + i);
        }
        assertNull(CoreImagesAhead.take(p, ts), "encodeAll took them");
    }

    @Test
    void fewThreadsAreNotEncodedAhead() {
        ProcessState p = Samples.state();
        List<ThreadState> ts = threads(CoreImagesAhead.FROM - 1);
        CoreImagesAhead.start(p, ts);
        assertNull(CoreImagesAhead.take(p, ts));
    }
}
