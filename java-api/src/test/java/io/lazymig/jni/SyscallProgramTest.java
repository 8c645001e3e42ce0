package io.lazymig.jni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The table a syscall program walks, and its code's shape (PtraceIT runs it in a real tracee). */
class SyscallProgramTest {
    @Test
    void tableEntriesAreNumberSixArgumentsAndResult() {
        ByteBuffer table = ByteBuffer.allocate(SyscallProgram.tableBytes(2));
        SyscallProgram.add(table, 39, 7, 8);
        SyscallProgram.add(table, 157, 40, 0x1000, 3, 4, 5, 6);
        SyscallProgram.end(table);
        assertEquals(table.capacity(), table.position(), "two entries and the end fill the table");
        table.order(ByteOrder.nativeOrder());
        assertEquals(39, table.getLong(0));
        assertEquals(7, table.getLong(8));
        assertEquals(8, table.getLong(16));
        assertEquals(0, table.getLong(24), "missing arguments are 0");
        assertEquals(157, table.getLong(64));
        assertEquals(6, table.getLong(64 + 48));
        assertEquals(-1, table.getLong(128), "the end");
        table.putLong(64 + 56, -22);
        assertEquals(-22, SyscallProgram.result(table, 1));
    }

    @Test
    void theCodeEndsOnInt3() {
        ByteBuffer code = SyscallProgram.code();
        assertEquals(SyscallProgram.codeBytes(), code.remaining());
        assertEquals((byte) 0xcc, code.get(code.limit() - 1));
        assertEquals((byte) 0x0f, code.get(33));
        assertEquals((byte) 0x05, code.get(34), "the syscall instruction");
    }

    @Test
    void badEntriesAreRefused() {
        ByteBuffer table = ByteBuffer.allocate(SyscallProgram.tableBytes(1));
        assertThrows(IllegalArgumentException.class, () -> SyscallProgram.add(table, -1));
        assertThrows(IllegalArgumentException.class, () -> SyscallProgram.add(table, 1, 1, 2, 3, 4, 5, 6, 7));
        assertThrows(IllegalArgumentException.class, () -> new SyscallProgram.Run(0, 1, 2));
    }
}
