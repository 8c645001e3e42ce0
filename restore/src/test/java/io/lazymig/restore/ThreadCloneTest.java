package io.lazymig.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.jni.Syscalls;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class ThreadCloneTest {
    /** The index of the int3 that ends the loop: the last byte of its code. */
    private static int done(ByteBuffer code) {
        int last = -1;
        for (int i = 0; i < code.limit(); i++) {
            if ((code.get(i) & 0xff) == 0xcc) {
                last = i;
            }
        }
        return last;
    }

    /** Where the rel8 jump whose opcode is at {@code at} lands. */
    private static int target(ByteBuffer code, int at) {
        return at + 2 + code.get(at + 1);
    }

    @Test
    void everyJumpOfTheLoopLandsWhereItMeans() {
        ByteBuffer code = ThreadClone.code();
        int done = done(code);
        assertEquals(0x74, code.get(3) & 0xff, "jz");
        assertEquals(done, target(code, 3), "no records left: to the int3");
        assertEquals(0x78, code.get(28) & 0xff, "js");
        assertEquals(done, target(code, 28), "a failed clone3: to the int3");
        assertEquals(0xeb, code.get(40) & 0xff, "jmp");
        assertEquals(0, target(code, 40), "the next record: back to the top");
        assertEquals(0x050f, code.getShort(18) & 0xffff, "syscall");
    }

    @Test
    void theSyscallAndTheArgsSizeArePatchedIn() {
        ByteBuffer code = ThreadClone.code();
        assertEquals(Syscalls.CLONE3, code.getInt(6));
        assertEquals(Syscalls.CLONE_ARGS_SIZE_VER2, code.getInt(14));
    }

    @Test
    void aRunOfRecordsFitsTheScratchArea() {
        assertTrue(ThreadClone.PER_RUN >= 256, "a few hundred threads in one run");
        assertTrue(64 + ThreadClone.PER_RUN * 128L <= Stub.SCRATCH_SIZE);
    }
}
