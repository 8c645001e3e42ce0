package io.lazymig.restore;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.DevNull;
import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import io.lazymig.images.RegularFile;
import io.lazymig.images.Terminal;
import io.lazymig.jni.FileDescriptor;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Fd-table restore against a model of the kernel's fd table: which fds end up open, on what, sharing what. */
class FdTableRestoreTest {
    private static final List<FileObject> FILES = List.of(
            new DevNull(1, FileDescriptor.O_RDWR, 0),
            new Terminal(2, "/dev/pts/3", FileDescriptor.O_RDWR, 0),
            new RegularFile(3, "/tmp/app.log", FileDescriptor.O_WRONLY | FileDescriptor.O_APPEND, 1234),
            new RegularFile(4, "/tmp/data", FileDescriptor.O_RDWR | FileDescriptor.O_TRUNC, 8192));

    private static Checkpoint checkpointWith(List<FdSlot> slots) {
        return Checkpoint.of(Processes.single(slots), FILES);
    }

    @Test
    void rebuildsTheTableWithSharedDescriptionsOffsetsAndCloexec() throws Exception {
        FakeFdKernel k = FakeFdKernel.withStdio();
        k.existing.addAll(List.of("/dev/null", "/tmp/app.log", "/tmp/data"));
        FakeFdKernel.Fd restoreStdout = k.fds.get(1);
        List<FdSlot> slots = List.of(new FdSlot(0, false, 1), new FdSlot(1, false, 2), new FdSlot(2, false, 2),
                new FdSlot(3, true, 3), new FdSlot(5, false, 3), new FdSlot(7, true, 4));
        Checkpoint cp = checkpointWith(slots);

        FdTableRestore.restore(k, cp, cp.root().fds());

        assertEquals(Set.of(0, 1, 2, 3, 5, 7), k.fds.keySet(), "exactly the checkpoint's fds; restore's parked stdio closed");
        assertEquals("/dev/null", k.fds.get(0).file().path);
        assertSame(k.fds.get(1).file(), k.fds.get(2).file(), "stdout and stderr: one description, as dumped (2>&1)");
        assertSame(restoreStdout.file(), k.fds.get(1).file(), "a terminal becomes restore's own stdout");
        FakeFdKernel.Description log = k.fds.get(3).file();
        assertSame(log, k.fds.get(5).file(), "a dup stays one description: one offset");
        assertEquals("/tmp/app.log", log.path);
        assertEquals(1234, log.pos);
        assertEquals(FileDescriptor.O_WRONLY | FileDescriptor.O_APPEND, log.flags);
        assertTrue(k.fds.get(3).cloexec());
        assertFalse(k.fds.get(5).cloexec(), "close-on-exec is per fd, not per description");
        FakeFdKernel.Description data = k.fds.get(7).file();
        assertNotSame(log, data);
        assertEquals(8192, data.pos);
        assertEquals(0, data.flags & FileDescriptor.O_TRUNC, "reopening must not truncate the file");
    }

    @Test
    void aMissingFileIsAnErrorNamingTheFdAndPath() {
        FakeFdKernel k = FakeFdKernel.withStdio();
        Checkpoint cp = checkpointWith(List.of(new FdSlot(3, false, 3)));
        RestoreException e = assertThrows(RestoreException.class, () -> FdTableRestore.restore(k, cp, cp.root().fds()));
        assertThat(e.getMessage(), startsWith("cannot reopen fd 3 (/tmp/app.log): ENOENT"));
    }

    @Test
    void aTerminalWithoutStdioToHandOverIsAnError() {
        FakeFdKernel k = new FakeFdKernel(); // restore started with its stdio closed
        Checkpoint cp = checkpointWith(List.of(new FdSlot(1, false, 2)));
        RestoreException e = assertThrows(RestoreException.class, () -> FdTableRestore.restore(k, cp, cp.root().fds()));
        assertEquals("fd 1 was a terminal (/dev/pts/3) and restore has no stdio to hand over", e.getMessage());
    }

    @Test
    void aTerminalAboveStderrUsesStderr() throws Exception {
        FakeFdKernel k = FakeFdKernel.withStdio();
        FakeFdKernel.Description stdin = k.fds.get(0).file();
        Checkpoint cp = checkpointWith(List.of(new FdSlot(0, false, 2), new FdSlot(9, false, 2)));
        FdTableRestore.restore(k, cp, cp.root().fds());
        assertSame(stdin, k.fds.get(0).file(), "fd 0 a terminal: restore's stdin");
        assertSame(stdin, k.fds.get(9).file(), "the same terminal description at fd 9: a dup of fd 0");
        assertEquals(Set.of(0, 9), k.fds.keySet());
    }

    /**
     * The bug: restore parked its stdio at 1000..1002 and closed them at the end, taking the
     * process's own fds 1000..1002 along. Now they park above the highest fd, under RLIMIT_NOFILE
     * (its soft limit raised to the hard one for the while, then put back).
     */
    @Test
    void fdsFrom1000AreTheProcesssOwn() throws Exception {
        FakeFdKernel k = FakeFdKernel.withStdio();
        k.existing.addAll(List.of("/dev/null", "/tmp/app.log", "/tmp/data"));
        List<FdSlot> slots = List.of(new FdSlot(0, false, 1), new FdSlot(1, false, 2), new FdSlot(1000, false, 3),
                new FdSlot(1001, true, 4), new FdSlot(1002, false, 1), new FdSlot(1500, false, 3));
        Checkpoint cp = Checkpoint.of(Processes.withNofile(1501, 4096, slots), FILES);
        FakeFdKernel.Description restoreStdout = k.fds.get(1).file();
        k.nofileCur = 1501;
        k.nofileMax = 4096;

        FdTableRestore.restore(k, cp, cp.root().fds());

        assertEquals(Set.of(0, 1, 1000, 1001, 1002, 1500), k.fds.keySet(), "the process's fds, and nothing of restore's");
        assertEquals("/tmp/app.log", k.fds.get(1000).file().path);
        assertSame(k.fds.get(1000).file(), k.fds.get(1500).file());
        assertEquals("/tmp/data", k.fds.get(1001).file().path);
        assertTrue(k.fds.get(1001).cloexec());
        assertEquals("/dev/null", k.fds.get(1002).file().path);
        assertSame(restoreStdout, k.fds.get(1).file(), "the terminal is still restore's stdout");
        assertEquals(List.of("1504/4096", "1501/4096"), k.nofileSets, "raised for the parking area, then put back");
    }

    @Test
    void noRoomUnderTheHardLimitIsRefused() {
        FakeFdKernel k = FakeFdKernel.withStdio();
        k.existing.addAll(List.of("/tmp/app.log"));
        Checkpoint cp = Checkpoint.of(Processes.withNofile(1024, 1024, List.of(new FdSlot(1023, false, 3))), FILES);
        RestoreException e = assertThrows(RestoreException.class, () -> FdTableRestore.restore(k, cp, cp.root().fds()));
        assertEquals("process 4242: its highest fd is 1023 and its RLIMIT_NOFILE hard limit 1024: no room above its fds "
                + "for the 3 restore needs while it rebuilds them", e.getMessage());
    }
}
