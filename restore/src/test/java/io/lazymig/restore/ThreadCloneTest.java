package io.lazymig.restore;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ThreadCloneTest {
    @Test
    void aRunOfThreadsFitsTheScratchArea() {
        assertTrue(ThreadClone.PER_RUN >= 256, "a few hundred threads in one run");
        assertTrue(SyscallRun.CODE_SPACE + ThreadClone.PER_RUN * (96L + SyscallRun.RECORD) <= Stub.SCRATCH_SIZE);
    }
}
