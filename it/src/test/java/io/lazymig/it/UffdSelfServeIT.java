package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.jni.Buffers;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Memory;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Poll;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.UffdMessage;
import io.lazymig.jni.UffdMessages;
import io.lazymig.jni.Userfaultfd;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The test JVM serves its own missing pages through a real userfaultfd (root): fresh anonymous
 * memory is registered MISSING, threads fault on it, and the test thread polls, reads the
 * messages in batches and fills pages with UFFDIO_COPY / UFFDIO_ZEROPAGE.
 *
 * <p>Faulting threads touch the region only from inside system calls (pwrite from it, pread
 * into it), i.e. while in native code: a thread blocked in a fault while running Java code would
 * stall every JVM safepoint, and with it the serving thread. The test thread reads a page from
 * Java only after it was filled. Whatever happens, closing the uffd (in tearDown) wakes every
 * blocked thread, so nothing hangs.
 */
@Timeout(60)
class UffdSelfServeIT {
    private static final long PAGE = SystemInfo.PAGE_SIZE;
    private static final int PAGES = 64;
    /** Poll slice; the serving loops re-check for interruption (JUnit's timeout) between slices. */
    private static final int POLL_MS = 200;

    private Userfaultfd uffd;
    private long region;
    private long regionLen;
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicReference<Throwable> threadFailure = new AtomicReference<>();
    /** {address, length} of what tearDown unmaps (once no thread can be inside). */
    private final List<long[]> mappings = new ArrayList<>();
    private Path scratchPath;
    private FileDescriptor scratch;
    private FileDescriptor zero;

    @BeforeEach
    void setUp() throws Exception {
        regionLen = PAGES * PAGE;
        region = Memory.mapAnonymous(regionLen);
        mappings.add(new long[] { region, regionLen });
        scratchPath = Files.createTempFile("uffd-self-serve", ".bin");
        scratch = FileDescriptor.open(scratchPath.toString(), FileDescriptor.O_RDWR, 0);
        zero = FileDescriptor.open("/dev/zero", FileDescriptor.O_RDONLY, 0);
    }

    @AfterEach
    void tearDown() throws Exception {
        // Closing the last uffd reference unregisters everything and wakes every waiter.
        if (uffd != null) {
            uffd.close();
        }
        boolean allDone = true;
        for (Thread t : threads) {
            t.join(10_000);
            allDone &= !t.isAlive();
        }
        if (allDone) {
            // Only once no thread can still be inside the memory.
            for (long[] m : mappings) {
                Memory.unmap(m[0], m[1]);
            }
        }
        scratch.close();
        zero.close();
        Files.deleteIfExists(scratchPath);
        assertTrue(allDone, "a helper thread did not finish");
    }

    /** A uffd for this process with {@code features} (all must be supported), region registered MISSING. */
    private long openAndRegister(long features) throws NativeException {
        long supported = Userfaultfd.supportedFeatures();
        assertEquals(features, supported & features,
                "kernel lacks uffd features 0x" + Long.toHexString(features & ~supported));
        uffd = Userfaultfd.create();
        long apiIoctls = uffd.api(features);
        assertTrue(Userfaultfd.hasIoctl(apiIoctls, Userfaultfd.IOCTL_REGISTER));
        assertTrue(Userfaultfd.hasIoctl(apiIoctls, Userfaultfd.IOCTL_UNREGISTER));
        assertTrue(Userfaultfd.hasIoctl(apiIoctls, Userfaultfd.IOCTL_API));
        assertEquals(features, uffd.enabledFeatures());
        long ioctls = uffd.register(region, regionLen, Userfaultfd.REGISTER_MODE_MISSING);
        assertTrue(Userfaultfd.hasIoctl(ioctls, Userfaultfd.IOCTL_COPY), "COPY allowed");
        assertTrue(Userfaultfd.hasIoctl(ioctls, Userfaultfd.IOCTL_ZEROPAGE), "ZEROPAGE allowed");
        assertTrue(Userfaultfd.hasIoctl(ioctls, Userfaultfd.IOCTL_WAKE), "WAKE allowed");
        return ioctls;
    }

    private long page(int p) {
        return region + p * PAGE;
    }

    private static byte pattern(int page, int i) {
        return (byte) (page * 37 + i * 13 + 1);
    }

    private static ByteBuffer patternPages(int firstPage, int n) {
        ByteBuffer b = Buffers.allocatePageAligned((int) (n * PAGE));
        for (int k = 0; k < n; k++) {
            for (int i = 0; i < PAGE; i++) {
                b.put((int) (k * PAGE + i), pattern(firstPage + k, i));
            }
        }
        return b;
    }

    private void assertPattern(int p, ByteBuffer actual, String what) {
        for (int i = 0; i < PAGE; i++) {
            if (actual.get(i) != pattern(p, i)) {
                fail(what + ": page " + p + " byte " + i + " is " + actual.get(i) + ", expected " + pattern(p, i));
            }
        }
    }

    private void assertZero(int p) {
        ByteBuffer v = Memory.view(page(p), (int) PAGE);
        for (int i = 0; i < PAGE; i++) {
            if (v.get(i) != 0) {
                fail("page " + p + " byte " + i + " is " + v.get(i) + ", expected 0");
            }
        }
    }

    /** Starts a helper thread; its failure is reported by {@link #checkThreads()}. */
    private Thread start(String name, ThrowingRunnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                threadFailure.compareAndSet(null, e);
            }
        }, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
        return t;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    private void checkThreads() {
        Throwable e = threadFailure.get();
        if (e != null) {
            throw new AssertionError("helper thread failed: " + e, e);
        }
    }

    private void joinAll() throws InterruptedException {
        for (Thread t : threads) {
            t.join();
        }
        checkThreads();
    }

    /** Waits (in poll slices) until the uffd has messages, then reads one batch; never 0. */
    private int awaitMessages(Poll poll, UffdMessages batch) throws Exception {
        for (;;) {
            if (Thread.currentThread().isInterrupted()) {
                fail("interrupted while waiting for uffd messages");
            }
            checkThreads();
            if (poll.poll(POLL_MS) > 0) {
                assertFalse(poll.ready(0, (short) (Poll.POLLERR | Poll.POLLNVAL)), "uffd poll error");
                int n = batch.readFrom(uffd);
                if (n > 0) {
                    return n;
                }
            }
        }
    }

    private Poll pollOnUffd() throws NativeException {
        Poll poll = new Poll(1);
        poll.set(0, uffd.fd(), Poll.POLLIN);
        return poll;
    }

    @Test
    void concurrentFaultsAreServedWithCopyAndZeropage() throws Exception {
        openAndRegister(Userfaultfd.FEATURE_THREAD_ID);

        // Every 4th page is read (pwrite from it to a file: a kernel read of user memory) and gets
        // a COPY of a known pattern; the pages 2 further on are written (pread from /dev/zero into
        // them) and get a ZEROPAGE. Four threads fault concurrently, so batches may hold several.
        int threadsCount = 4;
        int[] tids = new int[threadsCount];
        boolean[] isRead = new boolean[PAGES];
        boolean[] isWrite = new boolean[PAGES];
        int expected = 0;
        for (int p = 0; p < PAGES; p++) {
            isRead[p] = p % 4 == 0;
            isWrite[p] = p % 4 == 2;
            expected += isRead[p] || isWrite[p] ? 1 : 0;
        }
        for (int t = 0; t < threadsCount; t++) {
            int me = t;
            start("toucher-" + t, () -> {
                tids[me] = SystemInfo.gettid();
                for (int p = 0; p < PAGES; p++) {
                    if ((p / 2) % threadsCount != me) {
                        continue;
                    }
                    if (isRead[p]) {
                        assertEquals(PAGE, scratch.pwrite(page(p), PAGE, p * PAGE));
                    } else if (isWrite[p]) {
                        assertEquals(8, zero.pread(page(p) + 100, 8, 0));
                    }
                }
            });
        }

        Poll poll = pollOnUffd();
        UffdMessages batch = new UffdMessages(16);
        ByteBuffer src = Buffers.allocatePageAligned((int) PAGE);
        long srcAddress = Buffers.address(src);
        long[] flagsSeen = new long[PAGES];
        int[] tidSeen = new int[PAGES];
        boolean[] served = new boolean[PAGES];
        int servedCount = 0;
        int messages = 0;
        int batches = 0;
        while (servedCount < expected) {
            int n = awaitMessages(poll, batch);
            batches++;
            for (int i = 0; i < n; i++) {
                UffdMessage m = batch.get(i);
                assertTrue(m.isPageFault(), "unexpected " + m);
                messages++;
                long address = m.pageFaultAddress();
                assertEquals(0, address & (PAGE - 1), "fault addresses are page-aligned without EXACT_ADDRESS");
                int p = (int) ((address - region) / PAGE);
                assertTrue(p >= 0 && p < PAGES && (isRead[p] || isWrite[p]), "fault on untouched page: " + m);
                flagsSeen[p] = m.pageFaultFlags();
                tidSeen[p] = m.pageFaultThreadId();
                long r;
                if (m.isWriteFault()) {
                    r = uffd.zeropage(address, PAGE, 0);
                } else {
                    for (int b = 0; b < PAGE; b++) {
                        src.put(b, pattern(p, b));
                    }
                    r = uffd.copy(address, srcAddress, PAGE, 0);
                }
                if (r == -Errno.EEXIST) {
                    uffd.wake(address, PAGE); // a repeated message for a page already filled
                } else {
                    assertEquals(PAGE, r, "fill of page " + p + " for " + m);
                }
                if (!served[p]) {
                    served[p] = true;
                    servedCount++;
                }
            }
        }
        joinAll();
        System.out.printf("UffdSelfServeIT: %d pages served from %d messages in %d batches%n", expected, messages,
                batches);

        for (int p = 0; p < PAGES; p++) {
            int owner = tids[(p / 2) % threadsCount];
            if (isRead[p]) {
                assertEquals(0, flagsSeen[p] & UffdMessage.PAGEFAULT_FLAG_WRITE, "page " + p + " read fault");
                assertEquals(owner, tidSeen[p], "THREAD_ID of page " + p);
                assertPattern(p, Memory.view(page(p), (int) PAGE), "memory");
                ByteBuffer seen = Buffers.allocatePageAligned((int) PAGE);
                assertEquals(PAGE, scratch.pread(Buffers.address(seen), PAGE, p * PAGE));
                assertPattern(p, seen, "what the faulting thread read");
            } else if (isWrite[p]) {
                assertTrue((flagsSeen[p] & UffdMessage.PAGEFAULT_FLAG_WRITE) != 0, "page " + p + " write fault");
                assertEquals(owner, tidSeen[p], "THREAD_ID of page " + p);
                assertZero(p);
            }
        }
    }

    @Test
    void fillOutcomesAreValuesAndPartialProgressIsReported() throws Exception {
        openAndRegister(0);
        ByteBuffer src = patternPages(5, 3);
        long s = Buffers.address(src);

        // Filling a registered page nobody waits for is fine; a second fill is EEXIST, as a value.
        assertEquals(PAGE, uffd.copy(page(5), s, PAGE, 0));
        assertEquals(-Errno.EEXIST, uffd.copy(page(5), s, PAGE, 0));
        assertEquals(-Errno.EEXIST, uffd.zeropage(page(5), PAGE, 0));
        assertEquals(PAGE, uffd.zeropage(page(3), PAGE, Userfaultfd.ZEROPAGE_MODE_DONTWAKE));
        assertEquals(-Errno.EEXIST, uffd.copy(page(3), s, PAGE, Userfaultfd.COPY_MODE_DONTWAKE));

        // Partial progress: page 10 is present, so COPY of pages 9..11 stops after page 9; the
        // kernel says EAGAIN and the count of bytes done, which is what comes back.
        assertEquals(PAGE, uffd.zeropage(page(10), PAGE, 0));
        ByteBuffer src9 = patternPages(9, 3);
        assertEquals(PAGE, uffd.copy(page(9), Buffers.address(src9), 3 * PAGE, 0));
        assertEquals(PAGE, uffd.copy(page(11), Buffers.address(src9) + 2 * PAGE, PAGE, 0));
        // The same for ZEROPAGE: 20 is present, 19 gets done, 21 not.
        assertEquals(PAGE, uffd.copy(page(20), s, PAGE, 0));
        assertEquals(PAGE, uffd.zeropage(page(19), 3 * PAGE, 0));
        assertEquals(PAGE, uffd.zeropage(page(21), PAGE, 0));

        // A range beyond the registered VMA, an unregistered mapping, an unregistered part: ENOENT.
        assertEquals(-Errno.ENOENT, uffd.copy(page(PAGES - 1), s, 2 * PAGE, 0));
        long other = Memory.mapAnonymous(PAGE);
        mappings.add(new long[] { other, PAGE });
        assertEquals(-Errno.ENOENT, uffd.copy(other, s, PAGE, 0));
        assertEquals(-Errno.ENOENT, uffd.zeropage(other, PAGE, 0));
        uffd.unregister(page(30), 2 * PAGE);
        assertEquals(-Errno.ENOENT, uffd.copy(page(30), s, PAGE, 0));

        // Errors that are not expected outcomes still throw, naming the call.
        NativeException e = assertThrows(NativeException.class, () -> uffd.copy(page(40), s, PAGE, 1L << 40));
        assertEquals(Errno.EINVAL, e.errno());
        assertThat(e.getMessage(), containsString("UFFDIO_COPY(0x" + Long.toHexString(page(40)) + ", 4096)"));
        NativeException bad = assertThrows(NativeException.class,
                () -> uffd.register(other, PAGE, Userfaultfd.REGISTER_MODE_MISSING | (1L << 40)));
        assertEquals(Errno.EINVAL, bad.errno());

        // The contents: pattern where copied, zeros where zero-filled; unregistered pages are plain memory.
        assertPattern(5, Memory.view(page(5), (int) PAGE), "page 5");
        assertPattern(9, Memory.view(page(9), (int) PAGE), "page 9");
        assertPattern(11, Memory.view(page(11), (int) PAGE), "page 11");
        assertPattern(5, Memory.view(page(20), (int) PAGE), "page 20");
        for (int p : new int[] { 3, 10, 19, 21, 30, 31 }) {
            assertZero(p);
        }
    }

    @Test
    void wakeRetriesTheFaultAndDontwakeFillsNeedIt() throws Exception {
        openAndRegister(Userfaultfd.FEATURE_THREAD_ID);
        AtomicInteger tid = new AtomicInteger();
        Thread toucher = start("toucher", () -> {
            tid.set(SystemInfo.gettid());
            assertEquals(PAGE, scratch.pwrite(page(7), PAGE, 0));
        });
        Poll poll = pollOnUffd();
        UffdMessages batch = new UffdMessages(4);

        assertEquals(1, awaitMessages(poll, batch));
        assertEquals(page(7), batch.get(0).pageFaultAddress());
        // A wake without a fill: the thread retries, finds the page still missing, faults again.
        uffd.wake(page(7), PAGE);
        assertEquals(1, awaitMessages(poll, batch));
        UffdMessage again = batch.get(0);
        assertEquals(page(7), again.pageFaultAddress());
        assertEquals(tid.get(), again.pageFaultThreadId());

        // A DONTWAKE fill, then the wake that lets the thread go on.
        ByteBuffer src = patternPages(7, 1);
        assertEquals(PAGE, uffd.copy(page(7), Buffers.address(src), PAGE, Userfaultfd.COPY_MODE_DONTWAKE));
        uffd.wake(page(7), PAGE);
        toucher.join();
        checkThreads();
        ByteBuffer seen = Buffers.allocatePageAligned((int) PAGE);
        assertEquals(PAGE, scratch.pread(Buffers.address(seen), PAGE, 0));
        assertPattern(7, seen, "what the woken thread read");
        // Waking a range with no waiter is harmless.
        uffd.wake(region, regionLen);
    }

    @Test
    void nonCooperativeEventsAreReadAndDecoded() throws Exception {
        openAndRegister(Userfaultfd.FEATURE_EVENT_REMOVE | Userfaultfd.FEATURE_EVENT_UNMAP
                | Userfaultfd.FEATURE_EVENT_REMAP);
        Poll poll = pollOnUffd();
        UffdMessages batch = new UffdMessages(4);
        AtomicInteger step = new AtomicInteger();
        long target = Memory.mapAnonymous(4 * PAGE);
        // The layout changes below; until they are known to be done, tearDown unmaps nothing
        // (a freed hole may hold someone else's mapping by then).
        mappings.clear();

        // The process changing its layout waits until the event is read, so it must not be the
        // reader: a helper thread does it, inside native calls.
        Thread changer = start("changer", () -> {
            Memory.advise(page(2), 2 * PAGE, Memory.MADV_DONTNEED);
            step.set(1);
            Memory.unmap(page(60), 4 * PAGE);
            step.set(2);
            long moved = Memory.remap(page(40), 4 * PAGE, 4 * PAGE, Memory.MREMAP_MAYMOVE | Memory.MREMAP_FIXED,
                    target);
            assertEquals(target, moved);
            step.set(3);
        });

        List<String> seen = new ArrayList<>();
        long[] removeRange = null;
        long[] unmapRange = null;
        long[] remapArgs = null;
        // Read until the changer is done: one layout change may queue several events (mremap
        // queues REMAP and then UNMAPs), and the changer waits for each to be read.
        while (changer.isAlive()) {
            if (Thread.currentThread().isInterrupted()) {
                fail("interrupted; events so far: " + seen);
            }
            checkThreads();
            int n = poll.poll(POLL_MS) > 0 ? batch.readFrom(uffd) : 0;
            for (int i = 0; i < n; i++) {
                UffdMessage m = batch.get(i);
                seen.add(m.toString());
                if (m.isRemove()) {
                    removeRange = new long[] { m.rangeStart(), m.rangeEnd() };
                } else if (m.isUnmap() && unmapRange == null) {
                    unmapRange = new long[] { m.rangeStart(), m.rangeEnd() };
                } else if (m.isRemap()) {
                    remapArgs = new long[] { m.remapFrom(), m.remapTo(), m.remapLength() };
                } else if (!m.isUnmap()) {
                    fail("unexpected " + m);
                }
            }
        }
        changer.join();
        checkThreads();
        assertEquals(3, step.get());
        System.out.println("UffdSelfServeIT events: " + seen);
        assertNotNull(removeRange, "REMOVE seen: " + seen);
        assertEquals(page(2), removeRange[0]);
        assertEquals(page(4), removeRange[1]);
        assertNotNull(unmapRange, "UNMAP seen: " + seen);
        assertEquals(page(60), unmapRange[0]);
        assertEquals(page(64), unmapRange[1]);
        assertNotNull(remapArgs, "REMAP seen: " + seen);
        assertEquals(page(40), remapArgs[0]);
        assertEquals(target, remapArgs[1]);
        assertEquals(4 * PAGE, remapArgs[2]);

        // What is left: pages 0..39 and 44..59 in place, 40..43 at target; 60..63 are gone.
        mappings.add(new long[] { region, 40 * PAGE });
        mappings.add(new long[] { page(44), 16 * PAGE });
        mappings.add(new long[] { target, 4 * PAGE });
    }

    @Test
    void supportedFeaturesAreLearnedOnceAndASecondApiIsEinval() throws Exception {
        long supported = Userfaultfd.supportedFeatures();
        assertEquals(supported, Userfaultfd.supportedFeatures());
        long needed = Userfaultfd.FEATURE_EVENT_FORK | Userfaultfd.FEATURE_EVENT_REMAP
                | Userfaultfd.FEATURE_EVENT_REMOVE | Userfaultfd.FEATURE_EVENT_UNMAP | Userfaultfd.FEATURE_THREAD_ID
                | Userfaultfd.FEATURE_MISSING_SHMEM;
        assertEquals(needed, supported & needed, "supported 0x" + Long.toHexString(supported));
        System.out.println("UffdSelfServeIT: supported features 0x" + Long.toHexString(supported));

        openAndRegister(Userfaultfd.FEATURE_EVENT_FORK);
        // The kernel itself refuses a second UFFDIO_API on the same uffd (here through a dup).
        try (Userfaultfd second = Userfaultfd.adopt(uffd.fileDescriptor().dup())) {
            NativeException e = assertThrows(NativeException.class, () -> second.api(0));
            assertEquals(Errno.EINVAL, e.errno());
        }
        // An unsupported feature bit is EINVAL too.
        try (Userfaultfd fresh = Userfaultfd.create(FileDescriptor.O_CLOEXEC)) {
            long unknown = Long.lowestOneBit(~supported & ~(1L << 63));
            NativeException e = assertThrows(NativeException.class, () -> fresh.api(unknown));
            assertEquals(Errno.EINVAL, e.errno());
            assertThat(e.getMessage(), containsString("UFFDIO_API(features=0x" + Long.toHexString(unknown) + ")"));
        }
        // A second uffd cannot register a range already registered with the first: EBUSY.
        try (Userfaultfd other = Userfaultfd.create()) {
            other.api(0);
            NativeException e = assertThrows(NativeException.class,
                    () -> other.register(region, PAGE, Userfaultfd.REGISTER_MODE_MISSING));
            assertEquals(Errno.EBUSY, e.errno());
        }
    }
}
