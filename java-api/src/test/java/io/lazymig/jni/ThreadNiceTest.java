package io.lazymig.jni;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ThreadNiceTest {
    /** The nice value belongs to the calling thread alone: another thread's raise leaves this one's as it was. */
    @Test
    void raisingANiceValueTouchesOnlyTheCallingThread() throws Exception {
        int mine = ThreadNice.get();
        int target = Math.min(19, mine + 3);
        AtomicReference<Object> seen = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                ThreadNice.set(target);
                seen.set(ThreadNice.get());
            } catch (NativeException e) {
                seen.set(e);
            }
        });
        t.start();
        t.join(10_000);
        assertEquals(target, seen.get());
        assertEquals(mine, ThreadNice.get());
    }
}
