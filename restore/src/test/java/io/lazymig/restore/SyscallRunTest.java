package io.lazymig.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class SyscallRunTest {
    /** Where the rel8 jump whose opcode is at {@code at} lands. */
    private static int target(ByteBuffer code, int at) {
        return at + 2 + code.get(at + 1);
    }

    @Test
    void everyJumpOfTheLoopLandsWhereItMeans() {
        ByteBuffer code = SyscallRun.code();
        int done = SyscallRun.DONE;
        assertEquals(0xb8, code.get(done) & 0xff, "done: mov eax, imm32");
        assertEquals(0x74, code.get(3) & 0xff, "jz");
        assertEquals(done, target(code, 3), "no records left: to the end");
        assertEquals(0x050f, code.getShort(39) & 0xffff, "syscall");
        assertEquals(0x73, code.get(52) & 0xff, "jae");
        assertEquals(done, target(code, 52), "an error: to the end");
        assertEquals(0xeb, code.get(61) & 0xff, "jmp");
        assertEquals(0, target(code, 61), "the next record: back to the top");
    }

    @Test
    void theRunEndsWithATgkillOfSigstopToItself() {
        ByteBuffer code = SyscallRun.code();
        int done = SyscallRun.DONE;
        assertEquals(Syscalls.TGKILL, code.getInt(done + 1));
        assertEquals(SystemInfo.SIGSTOP, code.getInt(done + 12));
        assertEquals(0x050f, code.getShort(done + 16) & 0xffff, "syscall");
        assertEquals(done + 18, target(code, done + 18), "then nowhere: the stop comes first");
    }

    @Test
    void onlyErrorsThatRanAreFailures() {
        assertTrue(SyscallRun.failed(-1));
        assertTrue(SyscallRun.failed(-4095));
        assertFalse(SyscallRun.failed(0));
        assertFalse(SyscallRun.failed(0x7f00_0000_0000L));
        assertFalse(SyscallRun.failed(SyscallRun.NOT_RUN));
    }

    @Test
    void aCallTakesAtMostSixArguments() {
        assertThrows(IllegalArgumentException.class, () -> new SyscallRun.Call(9, 1, 2, 3, 4, 5, 6, 7));
        assertTrue(SyscallRun.capacity(0) * SyscallRun.RECORD + SyscallRun.CODE_SPACE <= Stub.SCRATCH_SIZE);
    }
}
