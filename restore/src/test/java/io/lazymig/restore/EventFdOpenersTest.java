package io.lazymig.restore;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.CharDevice;
import io.lazymig.images.Checkpoint;
import io.lazymig.images.DevNull;
import io.lazymig.images.Epoll;
import io.lazymig.images.EpollWatch;
import io.lazymig.images.Eventfd;
import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import io.lazymig.images.Inotify;
import io.lazymig.images.InotifyWatch;
import io.lazymig.images.Signalfd;
import io.lazymig.images.Timerfd;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Syscalls;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The event fds' openers in fd-table restore, against the model of the kernel. */
class EventFdOpenersTest {
    private static final int EPOLLET = 1 << 31;

    private static Checkpoint checkpoint(List<FileObject> files, List<FdSlot> slots) {
        return Checkpoint.of(Processes.single(slots), files);
    }

    /** An epoll at fd 3, below every fd it watches, and an epoll watching that epoll: watches added once all are back. */
    @Test
    void epollWatchesAreAddedOnceEveryFdIsBack() throws Exception {
        FakeFdKernel k = FakeFdKernel.withStdio();
        k.existing.add("/dev/urandom");
        List<FileObject> files = List.of(
                new Epoll(1, FileDescriptor.O_RDWR, List.of(new EpollWatch(4, 1 | EPOLLET, 0x1111),
                        new EpollWatch(5, 1, 0xfeedfacecafebeefL), new EpollWatch(6, 1, 7))),
                new Eventfd(2, FileDescriptor.O_RDWR | FileDescriptor.O_NONBLOCK, 0x123456789L, false),
                new Timerfd(3, FileDescriptor.O_RDWR, Timerfd.CLOCK_MONOTONIC, 0, 0, 0, 0, 0, 0, 0, 0, ""),
                new Epoll(4, FileDescriptor.O_RDWR | FileDescriptor.O_NONBLOCK, List.of(new EpollWatch(3, 1, 3))),
                new CharDevice(5, "/dev/urandom", FileDescriptor.O_RDONLY, 0));
        List<FdSlot> slots = List.of(new FdSlot(3, true, 1), new FdSlot(4, false, 2), new FdSlot(5, false, 3),
                new FdSlot(6, false, 4), new FdSlot(7, false, 5));
        Checkpoint cp = checkpoint(files, slots);

        FdTableRestore.restore(k, cp, cp.root().fds());

        FakeFdKernel.Description ep = k.fds.get(3).file();
        assertEquals("anon_inode:[eventpoll]", ep.path);
        assertEquals(Map.of(4, "80000001:1111", 5, "1:feedfacecafebeef", 6, "1:7"), ep.epollWatches,
                "each watched fd with its events (EPOLLET kept) and data");
        assertEquals(Map.of(3, "1:3"), k.fds.get(6).file().epollWatches, "an epoll watching an epoll");
        assertEquals(FileDescriptor.O_NONBLOCK, k.fds.get(6).file().flags, "O_NONBLOCK put back on an epoll");
        int lastCreate = k.calls.lastIndexOf("create [eventpoll]");
        assertTrue(k.calls.indexOf("epoll_ctl 3 4") > lastCreate, "watches after every fd: " + k.calls);
        assertEquals(0x123456789L, k.fds.get(4).file().counter, "a counter above 2^32, written after eventfd2");
        assertEquals(FileDescriptor.O_NONBLOCK, k.fds.get(4).file().flags);
        assertEquals("/dev/urandom", k.fds.get(7).file().path);
        assertTrue(k.fds.get(3).cloexec());
    }

    @Test
    void aSemaphoreEventfdAndASignalfdKeepTheirFlags() throws Exception {
        FakeFdKernel k = FakeFdKernel.withStdio();
        List<FileObject> files = List.of(new Eventfd(1, FileDescriptor.O_RDWR, 42, true),
                new Signalfd(2, FileDescriptor.O_RDWR | FileDescriptor.O_NONBLOCK, 1L << 9));
        Checkpoint cp = checkpoint(files, List.of(new FdSlot(3, false, 1), new FdSlot(4, false, 2)));
        FdTableRestore.restore(k, cp, cp.root().fds());
        assertEquals(42, k.fds.get(3).file().counter, "a small counter is eventfd2's initial value");
        assertEquals(Syscalls.EFD_SEMAPHORE, k.fds.get(3).file().flags);
        assertEquals("anon_inode:[signalfd]", k.fds.get(4).file().path);
        assertEquals(FileDescriptor.O_NONBLOCK, k.fds.get(4).file().flags);
    }

    @Test
    void inotifyWatchesGetTheirDescriptorsAndTheSkippedOnesLeaveNoEvent() throws Exception {
        FakeFdKernel k = FakeFdKernel.withStdio();
        k.existing.addAll(List.of("/srv/a", "/srv/b"));
        Inotify in = new Inotify(1, 0, List.of(new InotifyWatch(2, "/srv/a", 0x100, 0, 1, 0xfe00000, 1, "00"),
                new InotifyWatch(5, "/srv/b", 0x80000002, 0, 2, 0xfe00000, 1, "01")));
        Checkpoint cp = checkpoint(List.of(in), List.of(new FdSlot(3, false, 1)));
        FdTableRestore.restore(k, cp, cp.root().fds());
        FakeFdKernel.Description d = k.fds.get(3).file();
        assertEquals(Map.of(2L, "/srv/a mask " + Integer.toHexString(0x100 | Syscalls.IN_DONT_FOLLOW),
                5L, "/srv/b mask " + Integer.toHexString(0x80000002 | Syscalls.IN_DONT_FOLLOW)), d.inotifyWatches);
        assertEquals(0, d.queuedBytes, "the IN_IGNORED of descriptors 1, 3 and 4 read away");
        assertEquals(0, d.flags, "blocking again, as dumped");
    }

    @Test
    void aWatchOnAMissingPathIsAnErrorNamingIt() {
        FakeFdKernel k = FakeFdKernel.withStdio();
        Inotify in = new Inotify(1, 0, List.of(new InotifyWatch(1, "/srv/gone", 0x100, 0, 1, 0, 1, "")));
        Checkpoint cp = checkpoint(List.of(in), List.of(new FdSlot(3, false, 1)));
        RestoreException e = assertThrows(RestoreException.class, () -> FdTableRestore.restore(k, cp, cp.root().fds()));
        assertThat(e.getMessage(), startsWith("process 4242 fd 3 (inotify): cannot watch /srv/gone again (watch 1): ENOENT"));
    }

    @Test
    void anEpollWatchingAnFdTheCheckpointLacksIsAnErrorNamingBoth() {
        FakeFdKernel k = FakeFdKernel.withStdio();
        k.existing.add("/dev/null");
        List<FileObject> files = List.of(new Epoll(1, FileDescriptor.O_RDWR, List.of(new EpollWatch(9, 1, 0))),
                new DevNull(2, FileDescriptor.O_RDWR, 0));
        Checkpoint cp = checkpoint(files, List.of(new FdSlot(3, false, 1), new FdSlot(4, false, 2)));
        RestoreException e = assertThrows(RestoreException.class, () -> FdTableRestore.restore(k, cp, cp.root().fds()));
        assertEquals("process 4242 fd 3 (epoll) watches fd 9, which the checkpoint does not hold", e.getMessage());
    }
}
