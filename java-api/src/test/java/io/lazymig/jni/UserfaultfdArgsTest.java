package io.lazymig.jni;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Argument checks and error reporting of {@link Userfaultfd}, without root: the object adopts a
 * descriptor of /dev/null, so every check that happens before the kernel is exercised, and the
 * calls that do reach the kernel fail with ENOTTY (not a uffd) or EBADF (closed).
 */
class UserfaultfdArgsTest {
    private static final long PAGE = SystemInfo.PAGE_SIZE;
    private static final long BASE = 0x7f00_0000_0000L;

    private Userfaultfd uffd;

    @BeforeEach
    void openNotAUffd() throws Exception {
        uffd = Userfaultfd.adopt(FileDescriptor.open("/dev/null", FileDescriptor.O_RDWR, 0));
    }

    @AfterEach
    void close() {
        uffd.close();
    }

    @Test
    void constantsComeFromC() {
        // The kernel ABI (CRIU-FACTS §3.12), checked once here.
        assertEquals(1L << 1, Userfaultfd.FEATURE_EVENT_FORK);
        assertEquals(1L << 8, Userfaultfd.FEATURE_THREAD_ID);
        assertEquals(1L << 16, Userfaultfd.FEATURE_MOVE);
        assertEquals(1, Userfaultfd.REGISTER_MODE_MISSING);
        assertEquals(3, Userfaultfd.IOCTL_COPY);
        assertEquals(0x3f, Userfaultfd.IOCTL_API);
        assertTrue(Userfaultfd.hasIoctl(0x8000000000000003L, Userfaultfd.IOCTL_API));
        assertTrue(Userfaultfd.hasIoctl(0x1cL, Userfaultfd.IOCTL_ZEROPAGE));
        assertFalse(Userfaultfd.hasIoctl(0x1cL, Userfaultfd.IOCTL_REGISTER));
    }

    private static void rejects(String expected, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertThat(e.getMessage(), containsString(expected));
    }

    @Test
    void unalignedAddressesAndLengthsAreRejected() {
        rejects("UFFDIO_REGISTER(0x7f0000000001, 4096): start and length must be multiples of the page size",
                () -> uffd.register(BASE + 1, PAGE, Userfaultfd.REGISTER_MODE_MISSING));
        rejects("UFFDIO_UNREGISTER(0x7f0000000000, 100)", () -> uffd.unregister(BASE, 100));
        rejects("UFFDIO_WAKE", () -> uffd.wake(BASE + 8, PAGE));
        rejects("UFFDIO_ZEROPAGE", () -> uffd.zeropage(BASE, PAGE + 1, 0));
        rejects("UFFDIO_COPY", () -> uffd.copy(BASE + 2048, BASE, PAGE, 0));
        rejects("source 0x7f0000000010 is not page-aligned", () -> uffd.copy(BASE, BASE + 16, PAGE, 0));
    }

    @Test
    void emptyNegativeAndWrappingRangesAreRejected() {
        rejects("length must be > 0", () -> uffd.register(BASE, 0, Userfaultfd.REGISTER_MODE_MISSING));
        rejects("length must be > 0", () -> uffd.copy(BASE, BASE, -PAGE, 0));
        rejects("length must be > 0", () -> uffd.zeropage(BASE, 0, 0));
        rejects("wraps", () -> uffd.wake(-PAGE, 2 * PAGE));
        rejects("wraps", () -> uffd.copy(BASE, -PAGE, 2 * PAGE, 0));
    }

    @Test
    void readMessagesNeedsADirectBufferLargeEnough() {
        rejects("a direct ByteBuffer is required", () -> uffd.readMessages(ByteBuffer.allocate(4 * UffdMessage.SIZE), 4));
        rejects("do not fit", () -> uffd.readMessages(ByteBuffer.allocateDirect(UffdMessage.SIZE), 2));
        rejects("max must be > 0", () -> uffd.readMessages(ByteBuffer.allocateDirect(UffdMessage.SIZE), 0));
    }

    @Test
    void aDescriptorThatIsNotAUffdFailsNamingTheCall() {
        NativeException e = assertThrows(NativeException.class,
                () -> uffd.register(BASE, PAGE, Userfaultfd.REGISTER_MODE_MISSING));
        assertEquals(Errno.ENOTTY, e.errno());
        assertThat(e.getMessage(), containsString("UFFDIO_REGISTER(0x7f0000000000, 4096) mode=0x1: ENOTTY"));
        // ENOTTY is not an expected fill outcome: it throws rather than being returned.
        NativeException c = assertThrows(NativeException.class, () -> uffd.copy(BASE, BASE, PAGE, 0));
        assertThat(c.getMessage(), containsString("UFFDIO_COPY(0x7f0000000000, 4096) from 0x7f0000000000: ENOTTY"));
        NativeException a = assertThrows(NativeException.class, () -> uffd.api(0));
        assertThat(a.getMessage(), containsString("UFFDIO_API(features=0x0): ENOTTY"));
        assertFalse(uffd.isApiDone());
        assertThrows(IllegalStateException.class, uffd::enabledFeatures);
    }

    @Test
    void aClosedUffdFailsWithEbadfNamingTheCall() throws Exception {
        uffd.close();
        uffd.close(); // idempotent
        assertFalse(uffd.isOpen());
        NativeException r = assertThrows(NativeException.class,
                () -> uffd.register(BASE, PAGE, Userfaultfd.REGISTER_MODE_MISSING));
        assertEquals(Errno.EBADF, r.errno());
        assertEquals("UFFDIO_REGISTER(0x7f0000000000, 4096)", r.call());
        NativeException c = assertThrows(NativeException.class, () -> uffd.copy(BASE, BASE, PAGE, 0));
        assertEquals(Errno.EBADF, c.errno());
        assertEquals("UFFDIO_COPY(0x7f0000000000, 4096)", c.call());
        NativeException z = assertThrows(NativeException.class, () -> uffd.zeropage(BASE, PAGE, 0));
        assertEquals("UFFDIO_ZEROPAGE(0x7f0000000000, 4096)", z.call());
        NativeException w = assertThrows(NativeException.class, () -> uffd.wake(BASE, PAGE));
        assertEquals("UFFDIO_WAKE(0x7f0000000000, 4096)", w.call());
        NativeException u = assertThrows(NativeException.class, () -> uffd.unregister(BASE, PAGE));
        assertEquals("UFFDIO_UNREGISTER(0x7f0000000000, 4096)", u.call());
        NativeException m = assertThrows(NativeException.class,
                () -> uffd.readMessages(ByteBuffer.allocateDirect(UffdMessage.SIZE), 1));
        assertEquals(Errno.EBADF, m.errno());
        assertEquals("read(uffd)", m.call());
        NativeException a = assertThrows(NativeException.class, () -> uffd.api(0));
        assertEquals(Errno.EBADF, a.errno());
        assertEquals("UFFDIO_API(features=0x0)", a.call());
    }

    @Test
    void readingAnEmptyDescriptorGivesNoMessages() throws Exception {
        // /dev/null reads as end-of-file: zero whole messages, not an error.
        assertEquals(0, uffd.readMessages(ByteBuffer.allocateDirect(4 * UffdMessage.SIZE), 4));
        UffdMessages batch = new UffdMessages(4);
        assertEquals(0, batch.readFrom(uffd));
    }

    @Test
    void adoptingAfterApiDoneElsewhereRecordsTheFeaturesAndRefusesASecondApi() throws Exception {
        long features = Userfaultfd.FEATURE_EVENT_FORK | Userfaultfd.FEATURE_EVENT_REMOVE;
        try (Userfaultfd adopted = Userfaultfd.adopt(FileDescriptor.open("/dev/null", FileDescriptor.O_RDONLY, 0),
                features)) {
            assertTrue(adopted.isApiDone());
            assertEquals(features, adopted.enabledFeatures());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> adopted.api(0));
            assertThat(e.getMessage(), containsString("second UFFDIO_API on one uffd is EINVAL"));
        }
        assertThrows(IllegalArgumentException.class, () -> Userfaultfd.adopt(null));
    }
}
