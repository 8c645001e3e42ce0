package io.lazymig.images;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.eventpoll_file_entry;
import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.timerfd_entry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The event fds and char devices ↔ their files.img entries (CRIU's sub-messages), and bad entries refused. */
class EventFdCodecsTest {
    private static final int O_RDWR = 02;
    private static final int O_NONBLOCK = 04000;
    static final int EPOLLIN = 0x1;
    static final int EPOLLET = 1 << 31;
    static final int EPOLLONESHOT = 1 << 30;

    @TempDir
    Path dir;

    static Eventfd eventfd() {
        return new Eventfd(4, O_RDWR | O_NONBLOCK, 0xfffffffffffffffeL, true);
    }

    static Timerfd timerfd() {
        return new Timerfd(5, O_RDWR, Timerfd.CLOCK_MONOTONIC, 3, Timerfd.TFD_TIMER_ABSTIME, 1, 495_073_362, 0,
                250_000_000, 5000, 7, "0d5e7a1c-1111-2222-3333-444455556666");
    }

    static Signalfd signalfd() {
        return new Signalfd(6, O_RDWR | O_NONBLOCK, (1L << (10 - 1)) | (1L << (15 - 1)));
    }

    static Inotify inotify() {
        return new Inotify(7, O_NONBLOCK, List.of(
                new InotifyWatch(1, "/tmp/watched", 0x300, 0, 0x21678cL, 0xfe00000, 1, "8c6721002dd631ed"),
                new InotifyWatch(2, "/etc/hostname", 0x80000002, 0, 0x264, 0xfe00000, 1, "6402000000000000")));
    }

    static Epoll epoll() {
        return new Epoll(8, O_RDWR, List.of(new EpollWatch(3, EPOLLIN | EPOLLET, 0x1122334455667788L),
                new EpollWatch(4, EPOLLIN | EPOLLONESHOT, 7), new EpollWatch(5, 0x201d, -1L)));
    }

    static List<FileObject> kinds() {
        return List.of(eventfd(), timerfd(), signalfd(), inotify(), epoll(), new CharDevice(9, "/dev/urandom", 0, 0),
                new CharDevice(10, "/dev/zero", O_RDWR, 0), new CharDevice(11, "/dev/full", 1, 0),
                new CharDevice(12, "/dev/random", 0, 0));
    }

    @Test
    void everyKindRoundTrips() {
        for (FileObject f : kinds()) {
            file_entry e = FileCodecs.encode(f);
            assertEquals(f.id(), e.getId());
            assertEquals(f, FileCodecs.decode(e), f.describe());
            assertTrue(FileCodecs.supports(e.getType()));
        }
    }

    @Test
    void eachIsWrittenWithCriusTypeAndSubMessage() {
        assertEquals(fd_types.EVENTFD, FileCodecs.encode(eventfd()).getType());
        assertEquals(0xfffffffffffffffeL, FileCodecs.encode(eventfd()).getEfd().getCounter());
        assertEquals(fd_types.TIMERFD, FileCodecs.encode(timerfd()).getType());
        timerfd_entry t = FileCodecs.encode(timerfd()).getTfd();
        assertEquals(1, t.getClockid());
        assertEquals(1, t.getVsec());
        assertEquals(250_000_000, t.getInsec());
        assertEquals(3, t.getTicks());
        assertEquals(fd_types.SIGNALFD, FileCodecs.encode(signalfd()).getType());
        assertEquals(0x4200, FileCodecs.encode(signalfd()).getSgfd().getSigmask());
        assertEquals(fd_types.INOTIFY, FileCodecs.encode(inotify()).getType());
        var wd = FileCodecs.encode(inotify()).getIfy().getWd(0);
        assertEquals(16, wd.getFHandle().getHandleCount(), "CRIU's fh_entry holds 16 words");
        assertEquals(8, wd.getFHandle().getBytes());
        assertEquals(0xed31d62d0021678cL, wd.getFHandle().getHandle(0), "the handle's bytes little-endian");
        assertEquals("/tmp/watched", wd.getFHandle().getPath());
        eventpoll_file_entry ep = FileCodecs.encode(epoll()).getEpfd();
        assertEquals(fd_types.EVENTPOLL, FileCodecs.encode(epoll()).getType());
        assertEquals(3, ep.getTfdCount());
        assertEquals(EPOLLIN | EPOLLET, ep.getTfd(0).getEvents());
        assertEquals(8, ep.getTfd(0).getId(), "each tfd names its epoll");
        assertEquals(FileCodecs.encode(new CharDevice(9, "/dev/urandom", 0, 0)).getReg().getMode(), 020666);
    }

    @Test
    void aRegEntryOfADeviceIsThatDevice() {
        assertTrue(FileCodecs.decode(RegEntries.entry(3, "/dev/urandom", 0, 0, 0)) instanceof CharDevice);
        assertTrue(FileCodecs.decode(RegEntries.entry(3, "/dev/null", 0, 0, 0)) instanceof DevNull);
        assertThrows(IllegalArgumentException.class, () -> new RegularFile(1, "/dev/zero", 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new CharDevice(1, "/dev/sda", 0, 0));
    }

    @Test
    void anEntryWithoutItsSubMessageIsRefused() {
        for (fd_types type : List.of(fd_types.EVENTFD, fd_types.TIMERFD, fd_types.SIGNALFD, fd_types.INOTIFY,
                fd_types.EVENTPOLL)) {
            file_entry bare = file_entry.newBuilder().setType(type).setId(4).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(bare));
            assertThat(e.getMessage(), startsWith("file id 4 is of type " + type + " without its "));
        }
    }

    @Test
    void valuesNoKernelHoldsAreRefused() {
        file_entry t = FileCodecs.encode(timerfd());
        assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(t.toBuilder()
                .setTfd(t.getTfd().toBuilder().setClockid(2)).build()), "CLOCK_PROCESS_CPUTIME_ID");
        assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(t.toBuilder()
                .setTfd(t.getTfd().toBuilder().setVnsec(1_000_000_000)).build()));
        assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(t.toBuilder()
                .setTfd(t.getTfd().toBuilder().setSettimeFlags(4)).build()));
        file_entry e = FileCodecs.encode(eventfd());
        assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(e.toBuilder()
                .setEfd(e.getEfd().toBuilder().setCounter(-1L)).build()), "0xffffffffffffffff is past the maximum");
        file_entry ep = FileCodecs.encode(epoll());
        assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(ep.toBuilder()
                .setEpfd(ep.getEpfd().toBuilder().addTfd(ep.getEpfd().getTfd(0))).build()), "the same fd twice");
        file_entry in = FileCodecs.encode(inotify());
        assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(in.toBuilder()
                .setIfy(in.getIfy().toBuilder().setWd(0, in.getIfy().getWd(0).toBuilder().setFHandle(
                        in.getIfy().getWd(0).getFHandle().toBuilder().clearPath()))).build()), "no path");
        assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(in.toBuilder()
                .setIfy(in.getIfy().toBuilder().setWd(0, in.getIfy().getWd(0).toBuilder().setFHandle(
                        in.getIfy().getWd(0).getFHandle().toBuilder().setBytes(129)))).build()), "a handle of 129 bytes");
        assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(in.toBuilder()
                .setIfy(in.getIfy().toBuilder().setWd(1, in.getIfy().getWd(1).toBuilder().setWd(1))).build()),
                "watch descriptor 1 twice");
    }

    @Test
    void anAbsoluteTimerKeepsItsExpiryOnARealtimeClockOrTheSameBoot() {
        Timerfd mono = timerfd();
        assertTrue(mono.absoluteExpiryKept(mono.bootId()), "same boot: CLOCK_MONOTONIC is the same clock");
        assertFalse(mono.absoluteExpiryKept("another-boot"), "another boot: the time left, from now");
        assertEquals((5000L + 1) * 1_000_000_000L + 7 + 495_073_362, mono.absoluteExpiryNanos());
        Timerfd real = new Timerfd(5, O_RDWR, Timerfd.CLOCK_REALTIME, 0,
                Timerfd.TFD_TIMER_ABSTIME | Timerfd.TFD_TIMER_CANCEL_ON_SET, 99, 0, 0, 0, 1_800_000_000L, 0, "");
        assertTrue(real.absoluteExpiryKept("any"));
        Timerfd relative = new Timerfd(5, O_RDWR, Timerfd.CLOCK_REALTIME, 0, 0, 99, 0, 0, 0, 1, 0, "");
        assertFalse(relative.absoluteExpiryKept("any"), "a relative timer gets the time it had left");
    }

    /** A checkpoint holding every kind, written and read back whole; a corrupt entry is one clear error. */
    @Test
    void aCheckpointWithEveryKindRoundTripsAndACorruptEntryIsOneError() throws IOException {
        Checkpoint c = checkpoint();
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        Checkpoint back = Checkpoint.read(dir);
        for (FileObject f : kinds()) {
            assertEquals(f, back.file(f.id()));
        }
        ImageDir d = ImageDir.of(dir);
        List<file_entry> entries = new ArrayList<>(d.readFiles());
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).getType() == fd_types.TIMERFD) {
                entries.set(i, entries.get(i).toBuilder().clearTfd().build());
            }
        }
        d.writeFiles(entries);
        ImageException e = assertThrows(ImageException.class, () -> Checkpoint.read(dir));
        assertThat(e.getMessage(), startsWith("files.img: fd 5 of fdinfo-2.img: file id 5 is of type TIMERFD without its tfd entry"));
    }

    /** The sample process with every kind besides its own files, each at the fd of its id. */
    static Checkpoint checkpoint() {
        List<FileObject> files = new ArrayList<>(Samples.files().subList(0, 2));
        files.add(new RegularFile(3, "/tmp/sample.log", 01, 0));
        files.addAll(kinds());
        List<FdSlot> fds = new ArrayList<>(List.of(new FdSlot(0, false, 1), new FdSlot(1, false, 2),
                new FdSlot(2, false, 2)));
        for (FileObject f : files.subList(2, files.size())) {
            fds.add(new FdSlot(f.id(), true, f.id()));
        }
        ProcessImage p = new ProcessImage(Samples.state(), List.of(Samples.leader()), Samples.vmas(), Samples.pagemap(),
                fds);
        return Checkpoint.of(p, files);
    }

    static String describeAll() {
        StringBuilder b = new StringBuilder();
        for (FileObject f : kinds()) {
            b.append(f.describe()).append('\n');
        }
        return b.toString();
    }

    @Test
    void describeNamesTheKind() {
        String all = describeAll();
        assertThat(all, containsString("eventfd (counter 18446744073709551614, semaphore)"));
        assertThat(all, containsString("timerfd (clock 1, armed)"));
        assertThat(all, containsString("signalfd (mask 0x4200)"));
        assertThat(all, containsString("inotify (2 watches)"));
        assertThat(all, containsString("epoll (3 watched fds)"));
    }
}
