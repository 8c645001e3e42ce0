package io.lazymig.jni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ThreadSchedulingTest {
    /** The nice value belongs to the calling thread alone: another thread's raise leaves this one's as it was. */
    @Test
    void raisingANiceValueTouchesOnlyTheCallingThread() throws Exception {
        int mine = ThreadScheduling.get();
        int target = Math.min(19, mine + 3);
        AtomicReference<Object> seen = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                ThreadScheduling.set(target);
                seen.set(ThreadScheduling.get());
            } catch (NativeException e) {
                seen.set(e);
            }
        });
        t.start();
        t.join(10_000);
        assertEquals(target, seen.get());
        assertEquals(mine, ThreadScheduling.get());
    }

    /** SCHED_IDLE and an own time slice are the calling thread's alone too; the nice value survives a slice. */
    @Test
    void idleAndSliceTouchOnlyTheCallingThread() throws Exception {
        int policy = ThreadScheduling.policy();
        long slice = ThreadScheduling.slice();
        AtomicReference<Object> seen = new AtomicReference<>();
        Thread idle = new Thread(() -> {
            try {
                ThreadScheduling.setIdle();
                seen.set(ThreadScheduling.policy());
            } catch (NativeException e) {
                seen.set(e);
            }
        });
        idle.start();
        idle.join(10_000);
        assertEquals(ThreadScheduling.SCHED_IDLE, seen.get());
        Thread short_ = new Thread(() -> {
            try {
                ThreadScheduling.set(Math.min(19, ThreadScheduling.get() + 2));
                int nice = ThreadScheduling.get();
                ThreadScheduling.setSlice(200_000);
                seen.set(new long[] {ThreadScheduling.policy(), ThreadScheduling.slice(), ThreadScheduling.get() - nice});
            } catch (NativeException e) {
                seen.set(e);
            }
        });
        short_.start();
        short_.join(10_000);
        assertTrue(seen.get() instanceof long[], () -> String.valueOf(seen.get()));
        long[] got = (long[]) seen.get();
        assertEquals(ThreadScheduling.SCHED_OTHER, got[0]);
        assertEquals(200_000, got[1]);
        assertEquals(0, got[2]);
        assertEquals(policy, ThreadScheduling.policy());
        assertEquals(slice, ThreadScheduling.slice());
    }
}
