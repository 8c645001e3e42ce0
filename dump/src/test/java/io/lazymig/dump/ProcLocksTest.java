package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProcLocksTest {
    /** A lock this JVM holds (FileChannel.lock: a POSIX lock of this pid) is among the lines read on the other thread. */
    @Test
    void readsTheLocksHeldNow() throws Exception {
        Path f = Files.createTempFile("lazymig-proclocks-", ".lock");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE); FileLock held = ch.lock()) {
            long ino = (Long) Files.getAttribute(f, "unix:ino");
            int self = (int) ProcessHandle.current().pid();
            ProcLocks locks = ProcLocks.prepare(); // as the dump: the thread before the freeze, the read after
            locks.read();
            List<String> lines = locks.lines();
            assertTrue(lines.stream().map(FileLocks.Entry::parse).anyMatch(e -> e != null && e.pid() == self
                    && e.inode() == ino && e.type().equals("POSIX") && e.write()), "this JVM's lock on " + f + ": " + lines);
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /** Closed before it was told to read (a dump that failed before its freeze): nothing read, its thread ends. */
    @Test
    void closedUnreadItReadsNothing() {
        ProcLocks locks = ProcLocks.prepare();
        locks.close();
        java.io.IOException e = assertThrows(java.io.IOException.class, locks::lines);
        assertTrue(e.getMessage().contains("not read"), e.getMessage());
    }
}
