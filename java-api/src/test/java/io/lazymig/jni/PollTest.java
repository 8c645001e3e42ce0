package io.lazymig.jni;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** poll(2) on /dev/null (always readable and writable), ignored slots and invalid fds. */
@Timeout(30)
class PollTest {
    /** Past any fd table: the kernel reports it as POLLNVAL. */
    private static final int NO_SUCH_FD = Integer.MAX_VALUE;

    private FileDescriptor devNull;

    @BeforeEach
    void open() throws Exception {
        devNull = FileDescriptor.open("/dev/null", FileDescriptor.O_RDWR, 0);
    }

    @AfterEach
    void close() {
        devNull.close();
    }

    @Test
    void constantsComeFromC() {
        assertEquals(1, Poll.POLLIN);
        assertEquals(4, Poll.POLLOUT);
        assertEquals(0x20, Poll.POLLNVAL);
    }

    @Test
    void aReadableFdIsReported() throws Exception {
        int[] fds = { devNull.fd() };
        short[] events = { (short) (Poll.POLLIN | Poll.POLLOUT) };
        short[] revents = { (short) 0x7fff };
        assertEquals(1, Poll.poll(fds, events, revents, -1));
        assertEquals(Poll.POLLIN | Poll.POLLOUT, revents[0]);
    }

    @Test
    void nothingReadyTimesOutWithZero() throws Exception {
        // Asking for no events on /dev/null, plus an ignored slot: nothing can become ready.
        int[] fds = { devNull.fd(), -1 };
        short[] events = { 0, Poll.POLLIN };
        short[] revents = new short[2];
        assertEquals(0, Poll.poll(fds, events, revents, 20));
        assertEquals(0, Poll.poll(fds, events, revents, 0));
        assertEquals(0, revents[0]);
        assertEquals(0, revents[1]);
        assertEquals(0, Poll.poll(new int[0], new short[0], new short[0], 1));
    }

    @Test
    void anInvalidFdIsPollnval() throws Exception {
        int[] fds = { NO_SUCH_FD, devNull.fd() };
        short[] events = { Poll.POLLIN, Poll.POLLIN };
        short[] revents = new short[2];
        assertEquals(2, Poll.poll(fds, events, revents, 0));
        assertEquals(Poll.POLLNVAL, revents[0]);
        assertEquals(Poll.POLLIN, revents[1]);
    }

    @Test
    void manyFdsGoPastTheStackStaging() throws Exception {
        int n = 200;
        int[] fds = new int[n];
        short[] events = new short[n];
        short[] revents = new short[n];
        for (int i = 0; i < n; i++) {
            fds[i] = i % 2 == 0 ? devNull.fd() : -1;
            events[i] = Poll.POLLIN;
        }
        assertEquals(n / 2, Poll.poll(fds, events, revents, 0));
        for (int i = 0; i < n; i++) {
            assertEquals(i % 2 == 0 ? Poll.POLLIN : 0, revents[i], "slot " + i);
        }
    }

    @Test
    void arrayLengthsMustAgree() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Poll.poll(new int[2], new short[1], new short[2], 0));
        assertThat(e.getMessage(), containsString("fds 2, events 1, revents 2"));
        assertThrows(IllegalArgumentException.class, () -> Poll.poll(new int[1], new short[1], new short[0], 0));
        assertThrows(IllegalArgumentException.class, () -> Poll.poll(null, new short[1], new short[1], 0));
    }

    @Test
    void reusableSetPollsInPlace() throws Exception {
        Poll p = new Poll(3);
        assertEquals(3, p.size());
        assertEquals(-1, p.fd(0));
        assertEquals(0, p.poll(0), "all slots start disabled");

        p.set(0, devNull.fd(), Poll.POLLIN);
        p.set(2, NO_SUCH_FD, Poll.POLLIN);
        assertEquals(2, p.poll(-1));
        assertTrue(p.ready(0, Poll.POLLIN));
        assertFalse(p.ready(0, Poll.POLLOUT));
        assertEquals(0, p.revents(1));
        assertEquals(Poll.POLLNVAL, p.revents(2));

        p.set(2, -1, (short) 0);
        p.set(0, devNull.fd(), (short) 0);
        assertEquals(0, p.revents(0), "set clears revents");
        assertEquals(0, p.poll(10));
        assertThrows(IndexOutOfBoundsException.class, () -> p.set(3, 0, Poll.POLLIN));
        assertThrows(IndexOutOfBoundsException.class, () -> p.revents(-1));
        assertThrows(IllegalArgumentException.class, () -> new Poll(0));
    }
}
