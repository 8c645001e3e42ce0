package io.lazymig.jni;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Decoding of synthetic uffd_msg bytes written at the offsets C reports. */
class UffdMessageTest {
    private static ByteBuffer messages(int n) {
        return ByteBuffer.allocateDirect(n * UffdMessage.SIZE).order(ByteOrder.nativeOrder());
    }

    private static void putEvent(ByteBuffer b, int index, int event) {
        b.put(index * UffdMessage.SIZE + UffdMessage.OFFSET_EVENT, (byte) event);
    }

    private static void putLong(ByteBuffer b, int index, int offset, long v) {
        b.putLong(index * UffdMessage.SIZE + offset, v);
    }

    private static void putInt(ByteBuffer b, int index, int offset, int v) {
        b.putInt(index * UffdMessage.SIZE + offset, v);
    }

    @Test
    void layoutAndValuesAreTheKernelAbi() {
        // The x86-64 ABI (CRIU-FACTS §3.12); read from C, checked here once.
        assertEquals(32, UffdMessage.SIZE);
        assertEquals(0, UffdMessage.OFFSET_EVENT);
        assertEquals(8, UffdMessage.OFFSET_PAGEFAULT_FLAGS);
        assertEquals(16, UffdMessage.OFFSET_PAGEFAULT_ADDRESS);
        assertEquals(24, UffdMessage.OFFSET_PAGEFAULT_PTID);
        assertEquals(8, UffdMessage.OFFSET_FORK_UFD);
        assertEquals(8, UffdMessage.OFFSET_REMAP_FROM);
        assertEquals(16, UffdMessage.OFFSET_REMAP_TO);
        assertEquals(24, UffdMessage.OFFSET_REMAP_LEN);
        assertEquals(8, UffdMessage.OFFSET_REMOVE_START);
        assertEquals(16, UffdMessage.OFFSET_REMOVE_END);
        assertEquals(0x12, UffdMessage.EVENT_PAGEFAULT);
        assertEquals(0x16, UffdMessage.EVENT_UNMAP);
        assertEquals(1, UffdMessage.PAGEFAULT_FLAG_WRITE);
    }

    @Test
    void pageFault() {
        ByteBuffer b = messages(2);
        putEvent(b, 1, UffdMessage.EVENT_PAGEFAULT);
        putLong(b, 1, UffdMessage.OFFSET_PAGEFAULT_FLAGS, UffdMessage.PAGEFAULT_FLAG_WRITE);
        putLong(b, 1, UffdMessage.OFFSET_PAGEFAULT_ADDRESS, 0x7f12_3456_7000L);
        putInt(b, 1, UffdMessage.OFFSET_PAGEFAULT_PTID, 4242);

        UffdMessage m = new UffdMessage().wrap(b, 1);
        assertTrue(m.isPageFault());
        assertEquals(UffdMessage.EVENT_PAGEFAULT, m.event());
        assertEquals(0x7f12_3456_7000L, m.pageFaultAddress());
        assertEquals(UffdMessage.PAGEFAULT_FLAG_WRITE, m.pageFaultFlags());
        assertTrue(m.isWriteFault());
        assertFalse(m.isWriteProtectFault());
        assertFalse(m.isMinorFault());
        assertEquals(4242, m.pageFaultThreadId());
        assertThat(m.toString(), containsString("PAGEFAULT(address=0x7f1234567000, flags=0x1, tid=4242)"));

        putLong(b, 1, UffdMessage.OFFSET_PAGEFAULT_FLAGS, UffdMessage.PAGEFAULT_FLAG_WP | UffdMessage.PAGEFAULT_FLAG_MINOR);
        assertFalse(m.isWriteFault());
        assertTrue(m.isWriteProtectFault());
        assertTrue(m.isMinorFault());
    }

    @Test
    void forkHandsOverANewDescriptor(@TempDir Path dir) throws Exception {
        Path marker = Files.createFile(dir.resolve("fork-uffd-stand-in"));
        FileDescriptor standIn = FileDescriptor.open(marker.toString(), FileDescriptor.O_RDONLY, 0);
        int number = standIn.fd();
        ByteBuffer b = messages(1);
        putEvent(b, 0, UffdMessage.EVENT_FORK);
        putInt(b, 0, UffdMessage.OFFSET_FORK_UFD, number);

        UffdMessage m = new UffdMessage().wrap(b, 0);
        assertTrue(m.isFork());
        assertEquals(number, m.forkUffd());
        // The reader owns the fd: wrapping it gives an owned descriptor that closes it.
        FileDescriptor owned = m.forkUffdDescriptor();
        assertEquals(number, owned.fd());
        owned.close();
        // Closed: the number is free, or another thread of this JVM has opened something else on it.
        Path link = Path.of("/proc/self/fd", Integer.toString(number));
        try {
            assertNotEquals(marker.toRealPath(), Files.readSymbolicLink(link), "fd " + number + " still open");
        } catch (NoSuchFileException expected) {
            // free
        }
    }

    @Test
    void remap() {
        ByteBuffer b = messages(1);
        putEvent(b, 0, UffdMessage.EVENT_REMAP);
        putLong(b, 0, UffdMessage.OFFSET_REMAP_FROM, 0x1000_0000L);
        putLong(b, 0, UffdMessage.OFFSET_REMAP_TO, 0x2000_0000L);
        putLong(b, 0, UffdMessage.OFFSET_REMAP_LEN, 0x30000L);

        UffdMessage m = new UffdMessage().wrap(b, 0);
        assertTrue(m.isRemap());
        assertEquals(0x1000_0000L, m.remapFrom());
        assertEquals(0x2000_0000L, m.remapTo());
        assertEquals(0x30000L, m.remapLength());
        assertEquals("REMAP(from=0x10000000, to=0x20000000, len=196608)", m.toString());
    }

    @Test
    void removeAndUnmapCarryARange() {
        ByteBuffer b = messages(2);
        putEvent(b, 0, UffdMessage.EVENT_REMOVE);
        putLong(b, 0, UffdMessage.OFFSET_REMOVE_START, 0x5000L);
        putLong(b, 0, UffdMessage.OFFSET_REMOVE_END, 0x9000L);
        putEvent(b, 1, UffdMessage.EVENT_UNMAP);
        putLong(b, 1, UffdMessage.OFFSET_REMOVE_START, 0xa000L);
        putLong(b, 1, UffdMessage.OFFSET_REMOVE_END, 0xc000L);

        UffdMessage m = new UffdMessage();
        assertSame(m, m.wrap(b, 0));
        assertTrue(m.isRemove());
        assertEquals(0x5000L, m.rangeStart());
        assertEquals(0x9000L, m.rangeEnd());
        assertEquals("REMOVE(0x5000-0x9000)", m.toString());

        m.wrap(b, 1);
        assertTrue(m.isUnmap());
        assertFalse(m.isRemove());
        assertEquals(0xa000L, m.rangeStart());
        assertEquals(0xc000L, m.rangeEnd());
    }

    @Test
    void fieldsAreNativeOrderWhateverTheBufferOrder() {
        ByteBuffer b = messages(1);
        putEvent(b, 0, UffdMessage.EVENT_PAGEFAULT);
        putLong(b, 0, UffdMessage.OFFSET_PAGEFAULT_ADDRESS, 0x7000L);
        ByteOrder other = ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
        UffdMessage m = new UffdMessage().wrap(b.duplicate().order(other), 0);
        assertEquals(0x7000L, m.pageFaultAddress());
    }

    @Test
    void accessorsOfAnotherEventKindAreRefused() {
        ByteBuffer b = messages(1);
        putEvent(b, 0, UffdMessage.EVENT_REMOVE);
        UffdMessage m = new UffdMessage().wrap(b, 0);
        IllegalStateException e = assertThrows(IllegalStateException.class, m::pageFaultAddress);
        assertThat(e.getMessage(), containsString("not a PAGEFAULT message: REMOVE"));
        assertThrows(IllegalStateException.class, m::forkUffd);
        assertThrows(IllegalStateException.class, m::remapFrom);

        putEvent(b, 0, 0x7e);
        assertEquals("event 0x7e", m.toString());
        assertThrows(IllegalStateException.class, m::rangeStart);
        assertThrows(IllegalStateException.class, () -> new UffdMessage().event());
    }

    @Test
    void wrapChecksTheIndex() {
        ByteBuffer b = messages(2);
        UffdMessage m = new UffdMessage();
        assertThrows(IndexOutOfBoundsException.class, () -> m.wrap(b, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> m.wrap(b, -1));
        assertThrows(IndexOutOfBoundsException.class, () -> m.wrap(ByteBuffer.allocateDirect(UffdMessage.SIZE - 1), 0));
    }

    @Test
    void batchChecksItsIndexAndCapacity() {
        UffdMessages batch = new UffdMessages(8);
        assertEquals(8, batch.capacity());
        assertEquals(0, batch.count());
        assertTrue(batch.buffer().isDirect());
        assertThrows(IndexOutOfBoundsException.class, () -> batch.get(0));
        assertThrows(IllegalArgumentException.class, () -> new UffdMessages(0));
    }
}
