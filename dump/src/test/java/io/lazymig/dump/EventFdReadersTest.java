package io.lazymig.dump;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Epoll;
import io.lazymig.images.EpollWatch;
import io.lazymig.images.Eventfd;
import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import io.lazymig.images.Inotify;
import io.lazymig.images.InotifyWatch;
import io.lazymig.images.Signalfd;
import io.lazymig.images.Timerfd;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The event fds read from fdinfo texts as Linux 6.18 prints them (copied from a probe on this machine). */
class EventFdReadersTest {
    private static final String HEAD = "pos:\t0\nflags:\t04002\nmnt_id:\t17\nino:\t12\n";

    private static FdInfoLines info(String body) {
        return new FdInfoLines("process 42 fd 5 (test)", HEAD + body);
    }

    @Test
    void eventfd() throws IOException {
        Eventfd e = EventfdReader.read(3, 04002, info("eventfd-count:               2a\neventfd-id: 1\neventfd-semaphore: 1\n"));
        assertEquals(new Eventfd(3, 04002, 42, true), e);
        Eventfd older = EventfdReader.read(3, 02, info("eventfd-count:  fffffffffffffffe\n"));
        assertEquals(new Eventfd(3, 02, 0xfffffffffffffffeL, false), older, "a kernel before 6.5 prints no semaphore line");
    }

    @Test
    void timerfdWithTheClockReadAfterIt() throws IOException {
        Timerfd t = TimerfdReader.read(4, 04002, info("clockid: 1\nticks: 0\nsettime flags: 00\n"
                + "it_value: (1, 495073362)\nit_interval: (0, 250000000)\n"), clock -> 5_000_000_007L, "boot-1");
        assertEquals(new Timerfd(4, 04002, 1, 0, 0, 1, 495_073_362, 0, 250_000_000, 5, 7, "boot-1"), t);
        Timerfd abs = TimerfdReader.read(4, 02, info("clockid: 0\nticks: 3\nsettime flags: 03\n"
                + "it_value: (99, 338999075)\nit_interval: (0, 0)\n"), clock -> {
                    assertEquals(0, clock, "the timer's own clock is read");
                    return 1_800_000_000_000_000_000L;
                }, "");
        assertEquals(Timerfd.TFD_TIMER_ABSTIME | Timerfd.TFD_TIMER_CANCEL_ON_SET, abs.settimeFlags(), "octal 03");
        assertEquals(3, abs.ticks());
        assertEquals(1_800_000_099_338_999_075L, abs.absoluteExpiryNanos());
    }

    @Test
    void anExpiredPeriodicTimerWaitingForItsRead() throws IOException {
        Timerfd t = TimerfdReader.read(4, 02, info("clockid: 1\nticks: 1\nsettime flags: 00\nit_value: (0, 0)\n"
                + "it_interval: (0, 50000000)\n"), clock -> 0, "");
        assertTrue(t.isArmed(), "fdinfo shows no time left until the read forwards it: held as armed an interval ahead");
        assertEquals(50_000_000, t.valueNsec());
        assertEquals(1, t.ticks());
    }

    @Test
    void signalfd() throws IOException {
        assertEquals(new Signalfd(6, 04002, 0x4200), SignalfdReader.read(6, 04002, info("sigmask:\t0000000000004200\n")));
    }

    @Test
    void epollWatchesSortedByFd() throws IOException {
        Epoll e = EpollReader.read(8, 02, info(
                "tfd:        4 events: 40000019 data:                7  pos:0 ino:c sdev:10\n"
                + "tfd:        3 events: 80000019 data: 1122334455667788  pos:0 ino:c sdev:10\n"
                + "tfd:        6 events:     201d data: ffffffffffffffff  pos:0 ino:c sdev:10\n"));
        assertEquals(List.of(new EpollWatch(3, 0x80000019, 0x1122334455667788L), new EpollWatch(4, 0x40000019, 7),
                new EpollWatch(6, 0x201d, -1L)), e.watches());
    }

    @Test
    void inotifyWatchesWithTheirPaths() throws IOException {
        List<String> asked = new ArrayList<>();
        InotifyReader.WatchPaths paths = (dev, type, handle) -> {
            asked.add(Long.toHexString(dev) + " " + type + " " + HexFormat.of().formatHex(handle));
            return handle[0] == 0x64 ? "/etc/hostname" : "/tmp/efprobe";
        };
        Inotify in = InotifyReader.read(7, 04000, info(
                "inotify wd:2 ino:264 sdev:fe00000 mask:80000002 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 "
                        + "f_handle:6402000000000000\n"
                        + "inotify wd:1 ino:21678c sdev:fe00000 mask:300 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 "
                        + "f_handle:8c6721002dd631ed\n"), paths);
        assertEquals(List.of(new InotifyWatch(1, "/tmp/efprobe", 0x300, 0, 0x21678c, 0xfe00000, 1, "8c6721002dd631ed"),
                new InotifyWatch(2, "/etc/hostname", 0x80000002, 0, 0x264, 0xfe00000, 1, "6402000000000000")), in.watches());
        assertEquals(List.of("fe00000 1 6402000000000000", "fe00000 1 8c6721002dd631ed"), asked);
    }

    @Test
    void aMalformedLineIsOneErrorNamingTheFd() {
        IOException e = assertThrows(IOException.class, () -> EventfdReader.read(3, 2, info("eventfd-count: zz\n")));
        assertThat(e.getMessage(), startsWith("process 42 fd 5 (test): fdinfo \"zz\" is not hex"));
        e = assertThrows(IOException.class, () -> TimerfdReader.read(3, 2, info("clockid: 1\nticks: 0\n"
                + "settime flags: 00\nit_value: 1\nit_interval: (0, 0)\n"), c -> 0, ""));
        assertThat(e.getMessage(), startsWith("process 42 fd 5 (test): fdinfo it_value is not (SEC, NSEC)"));
        e = assertThrows(IOException.class, () -> SignalfdReader.read(3, 2, info("")));
        assertThat(e.getMessage(), startsWith("process 42 fd 5 (test): fdinfo no \"sigmask:\" line"));
        e = assertThrows(IOException.class, () -> InotifyReader.read(3, 2, info("inotify wd:1 ino:1 sdev:1 mask:1 "
                + "ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:00\n"), (d, t, h) -> "/x"));
        assertThat(e.getMessage(), startsWith("process 42 fd 5 (test): fdinfo f_handle of 1 bytes, fhandle-bytes says 8"));
    }

    @Test
    void theMountOfADeviceFromMountinfo() {
        String mountinfo = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
                + "30 22 0:26 / /tmp/with\\040space rw shared:2 - tmpfs tmpfs rw\n";
        assertEquals("/", ProcWatchPaths.mountPoint(mountinfo, "254:0"));
        assertEquals("/tmp/with space", ProcWatchPaths.mountPoint(mountinfo, "0:26"));
        assertEquals(null, ProcWatchPaths.mountPoint(mountinfo, "8:1"));
    }

    /** A source whose epoll at fd 3 watches fds whose files are still the ones watched unless listed in {@code moved}. */
    private static FdTableReader.Source epollSource(List<Integer> moved) {
        return new FdTableReader.Source() {
            @Override
            public int pid() {
                return 42;
            }

            @Override
            public List<Integer> fds() {
                throw new AssertionError();
            }

            @Override
            public String target(int fd) {
                throw new AssertionError();
            }

            @Override
            public ProcFdInfo info(int fd) {
                throw new AssertionError();
            }

            @Override
            public boolean sameOpenFile(int fd1, int fd2) {
                throw new AssertionError();
            }

            @Override
            public boolean watchOnCurrentFile(int epfd, int tfd) {
                assertEquals(3, epfd);
                return !moved.contains(tfd);
            }
        };
    }

    @Test
    void anEpollWatchingAClosedOrReusedFdIsRefusedNamingBoth() throws IOException {
        List<FileObject> files = List.of(new Epoll(1, 2, List.of(new EpollWatch(4, 1, 0), new EpollWatch(9, 1, 0))),
                new Eventfd(2, 2, 0, false));
        List<FdSlot> slots = List.of(new FdSlot(3, false, 1), new FdSlot(4, false, 2));
        DumpException e = assertThrows(DumpException.class, () -> FdTableReader.checkEpolls(epollSource(List.of()), slots,
                files));
        assertThat(e.getMessage(), startsWith("process 42 fd 3 (epoll) watches fd 9, which is closed"));
        List<FileObject> four = List.of(new Epoll(1, 2, List.of(new EpollWatch(4, 1, 0))), new Eventfd(2, 2, 0, false));
        FdTableReader.checkEpolls(epollSource(List.of()), slots, four);
        e = assertThrows(DumpException.class, () -> FdTableReader.checkEpolls(epollSource(List.of(4)), slots, four));
        assertThat(e.getMessage(), startsWith("process 42 fd 3 (epoll) watches fd 4, which holds another file now"));
    }
}
