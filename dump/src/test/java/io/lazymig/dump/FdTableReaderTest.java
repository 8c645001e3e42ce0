package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lazymig.images.DevNull;
import io.lazymig.images.FdSlot;
import io.lazymig.images.RegularFile;
import io.lazymig.images.Terminal;
import io.lazymig.jni.FileDescriptor;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Building the fd table from what /proc and kcmp report: one file object per open description, the kind by link target. */
class FdTableReaderTest {
    /** A process's fds as /proc would show them; {@code description} numbers the open file descriptions (kcmp). */
    private record Fd(String target, int flags, long pos, int description) {
    }

    private static FdTableReader.Source source(Map<Integer, Fd> table) {
        return new FdTableReader.Source() {
            @Override
            public List<Integer> fds() {
                return table.keySet().stream().sorted().toList();
            }

            @Override
            public String target(int fd) {
                return table.get(fd).target();
            }

            @Override
            public ProcFdInfo info(int fd) {
                return new ProcFdInfo(table.get(fd).pos(), table.get(fd).flags());
            }

            @Override
            public boolean sameOpenFile(int fd1, int fd2) throws IOException {
                return table.get(fd1).description() == table.get(fd2).description();
            }

            @Override
            public boolean watchOnCurrentFile(int epfd, int tfd) {
                throw new AssertionError("no epoll in these tables");
            }
        };
    }

    @Test
    void sharedDescriptionsShareOneFileAndCloexecStaysPerFd() throws Exception {
        int rdwr = FileDescriptor.O_RDWR;
        int cloexec = FileDescriptor.O_CLOEXEC;
        Map<Integer, Fd> table = Map.of(
                0, new Fd("/dev/null", 0, 0, 1),
                1, new Fd("/dev/pts/4", rdwr, 0, 2),
                2, new Fd("/dev/pts/4", rdwr, 0, 2),
                3, new Fd("/var/log/app.log", FileDescriptor.O_WRONLY | FileDescriptor.O_APPEND | cloexec, 77, 3),
                4, new Fd("/var/log/app.log", FileDescriptor.O_WRONLY, 5, 4),
                6, new Fd("/var/log/app.log", FileDescriptor.O_WRONLY | FileDescriptor.O_APPEND, 77, 3));

        FdTableReader.Table t = FdTableReader.read(source(table), 1);

        assertEquals(List.of(new FdSlot(0, false, 1), new FdSlot(1, false, 2), new FdSlot(2, false, 2),
                new FdSlot(3, true, 3), new FdSlot(4, false, 4), new FdSlot(6, false, 3)), t.slots());
        assertEquals(List.of(new DevNull(1, 0, 0), new Terminal(2, "/dev/pts/4", rdwr, 0),
                new RegularFile(3, "/var/log/app.log", FileDescriptor.O_WRONLY | FileDescriptor.O_APPEND, 77),
                new RegularFile(4, "/var/log/app.log", FileDescriptor.O_WRONLY, 5)), t.files(),
                "the same path opened twice is two files (two offsets); O_CLOEXEC is not an open flag of the file");
    }

    @Test
    void idsStartWhereTheCallerSays() throws Exception {
        FdTableReader.Table t = FdTableReader.read(source(Map.of(5, new Fd("/tmp/x", 0, 0, 1))), 10);
        assertEquals(List.of(new FdSlot(5, false, 10)), t.slots());
        assertEquals(List.of(new RegularFile(10, "/tmp/x", 0, 0)), t.files());
    }

    /**
     * A child's fds inherited across fork are its parent's open file descriptions (kcmp across the
     * two processes): they point at the parent's files; its own new ones get ids after the caller's.
     */
    @Test
    void aChildSharesWhatItInherited() throws Exception {
        int wr = FileDescriptor.O_WRONLY;
        Map<Integer, Fd> parent = Map.of(1, new Fd("/tmp/out", wr, 40, 7), 3, new Fd("/tmp/own", wr, 0, 8));
        FdTableReader.Table p = FdTableReader.read(source(parent), 100, 1, List.of(), null);
        assertEquals(List.of(new FdTableReader.Owner(100, 1, 1), new FdTableReader.Owner(100, 3, 2)), p.owners());
        Map<Integer, Fd> child = Map.of(1, new Fd("/tmp/out", wr, 40, 7), 4, new Fd("/tmp/out", wr, 0, 9));
        FdTableReader.Source s = source(child);
        FdTableReader.Source crossing = new FdTableReader.Source() {
            @Override
            public List<Integer> fds() throws IOException {
                return s.fds();
            }

            @Override
            public String target(int fd) throws IOException {
                return s.target(fd);
            }

            @Override
            public ProcFdInfo info(int fd) throws IOException {
                return s.info(fd);
            }

            @Override
            public boolean sameOpenFile(int fd1, int fd2) throws IOException {
                return s.sameOpenFile(fd1, fd2);
            }

            @Override
            public boolean sameOpenFileAs(int fd, int otherPid, int otherFd) {
                return otherPid == 100 && child.get(fd).description() == parent.get(otherFd).description();
            }
        };
        FdTableReader.Table c = FdTableReader.read(crossing, 101, 3, p.owners(), null);
        assertEquals(List.of(new FdSlot(1, false, 1), new FdSlot(4, false, 3)), c.slots(),
                "fd 1 is the parent's file 1; fd 4, the same path opened anew, a file of its own");
        assertEquals(List.of(new RegularFile(3, "/tmp/out", wr, 0)), c.files());
        assertEquals(List.of(new FdTableReader.Owner(101, 4, 3)), c.owners());
    }
}
