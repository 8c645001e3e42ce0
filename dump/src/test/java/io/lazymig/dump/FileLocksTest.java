package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class FileLocksTest {
    @Test
    void aLineOfProcLocks() {
        FileLocks.Entry e = FileLocks.Entry.parse("6: FLOCK  ADVISORY  WRITE 8584 fe:00:2155005 0 EOF");
        assertEquals(new FileLocks.Entry("FLOCK", true, 8584, "fe:00", 2155005), e);
        assertEquals(new FileLocks.Entry("POSIX", false, 12, "00:2a", 7),
                FileLocks.Entry.parse("\t1: POSIX  ADVISORY  READ 12 00:2a:7 0 EOF"));
        assertNull(FileLocks.Entry.parse("6: -> FLOCK  ADVISORY  WRITE 8590 fe:00:2155005 0 EOF"), "a blocked waiter");
        assertNull(FileLocks.Entry.parse("garbage"));
    }

    @Test
    void deviceNumbersAsProcLocksPrintsThem() {
        assertEquals("fe:00", FileLocks.device(0xfe00L));
        assertEquals("00:2a", FileLocks.device(0x2aL));
        assertEquals("103:105", FileLocks.device((0x103L << 8) | 0x05L | (0x1L << 20)));
    }
}
