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
}
