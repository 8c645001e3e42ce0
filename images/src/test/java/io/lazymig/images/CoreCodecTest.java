package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lazymig.images.proto.core_entry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The core images encoded with their shared fpregs spliced in are byte for byte protobuf's own encoding. */
class CoreCodecTest {
    @Test
    void splicedCoresAreProtobufsBytes() throws Exception {
        ProcessState p = Samples.state();
        byte[] other = Samples.registers().xstate();
        other[600] ^= 0x5a; // a thread whose area differs by one byte: its own fpregs
        ThreadState distinct = ThreadState.plain(Samples.PID + 2,
                new Registers(Samples.regs(), other, Samples.registers().layout()), "distinct");
        ThreadState legacy = ThreadState.plain(Samples.PID + 3,
                new Registers(Samples.regs(), new byte[XsaveLayout.LEGACY_SIZE], XsaveLayout.LEGACY), "legacy");
        CoreCodec.Shared shared = new CoreCodec.Shared(p);
        for (ThreadState t : List.of(Samples.leader(), Samples.worker(), distinct, legacy, Samples.worker())) {
            byte[] spliced = CoreCodec.encodeBytes(p, t, shared);
            core_entry expected = CoreCodec.encode(p, t);
            assertArrayEquals(expected.toByteArray(), spliced, "thread " + t.tid());
            assertEquals(expected, core_entry.parseFrom(spliced));
        }
    }

    @Test
    void manyThreadsAreEncodedInOrderOnTwoThreads() {
        ProcessState p = Samples.state();
        List<ThreadState> threads = new java.util.ArrayList<>();
        threads.add(Samples.leader());
        for (int i = 1; i < CoreCodec.PARALLEL_FROM + 3; i++) {
            byte[] area = Samples.registers().xstate();
            area[600] = (byte) (i % 3); // three distinct areas
            threads.add(ThreadState.plain(Samples.PID + i, new Registers(Samples.regs(), area,
                    Samples.registers().layout()), "t" + i));
        }
        List<byte[]> all = CoreCodec.encodeAll(p, threads);
        assertEquals(threads.size(), all.size());
        for (int i = 0; i < threads.size(); i++) {
            assertArrayEquals(CoreCodec.encode(p, threads.get(i)).toByteArray(), all.get(i), "thread " + i);
        }
    }
}
