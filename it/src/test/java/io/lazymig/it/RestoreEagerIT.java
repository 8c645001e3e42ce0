package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.FdSlot;
import io.lazymig.images.RegularFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dump, then eager restore on the same host, through the real commands: the process goes on
 * under the same pid with the same memory (checksum), counter, exe, cmdline, comm, cwd, open
 * files (targets, flags and offsets) and signal state (SigBlk/SigIgn/SigCgt; handlers that run).
 */
class RestoreEagerIT {
    @TempDir
    Path dir;

    /** The common case for every checksum workload: one continuous run, same /proc state. */
    private void dumpRestoreAndCompare(RestoreWorkload w) throws Exception {
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(3, true);
            c.restore();
            c.awaitRestoredLine();
            c.assertSameProcState();
            c.assertOneContinuousRun(w.pid);
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            c.killRestoredAndAwaitRestore();
        }
    }

    @Test
    @Timeout(120)
    void dynamicC() throws Exception {
        dumpRestoreAndCompare(RestoreWorkload.c(dir, "checksum-loop", "64", "100"));
    }

    @Test
    @Timeout(120)
    void staticC() throws Exception {
        dumpRestoreAndCompare(RestoreWorkload.c(dir, "checksum-loop-static", "64", "100"));
    }

    @Test
    @Timeout(120)
    void python() throws Exception {
        dumpRestoreAndCompare(RestoreWorkload.python(dir, "16", "100"));
    }

    /**
     * Appends to one file and reads another from an offset: after restore both offsets go on where
     * they were (the kernel's position, reported by lseek in every line) and O_APPEND holds.
     */
    @Test
    @Timeout(120)
    void fileOffsetsGoOn() throws Exception {
        Path appended = dir.resolve("appended.txt");
        Path read = dir.resolve("read.bin");
        byte[] data = new byte[1 << 20];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 + (i >> 8));
        }
        Files.write(read, data);
        long start = 4099;
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-files", "8", "100", appended.toString(), read.toString(),
                Long.toString(start));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(3, true);
            Checkpoint cp = Checkpoint.read(c.images);
            RegularFile appendFd = regularFileAt(cp, 3);
            RegularFile readFd = regularFileAt(cp, 4);
            c.restore();
            RestoreWorkload.Line first = c.awaitRestoredLine();
            // The first read after restore started at the dumped offset and the append landed at the
            // end (or, if the dump caught it between its I/O and its print, that line shows the dumped offsets).
            long line = ("counter " + first.counter() + "\n").length();
            boolean caughtMidway = first.number("rpos") == readFd.pos() && first.number("apos") == appendFd.pos();
            if (!caughtMidway) {
                assertEquals(readFd.pos() + 8, first.number("rpos"), "read offset after restore: " + first.raw());
                assertEquals(appendFd.pos() + line, first.number("apos"), "append offset after restore: " + first.raw());
            }
            c.assertSameProcState();
            c.assertOneContinuousRun(w.pid);
            long appendedLength = 0;
            for (RestoreWorkload.Line l : w.lines()) {
                appendedLength += ("counter " + l.counter() + "\n").length();
                long rpos = l.number("rpos");
                assertEquals(start + 8 * (l.counter() + 1), rpos, "read offset: " + l.raw());
                long got = 0;
                for (int i = 7; i >= 0; i--) {
                    got = got << 8 | (data[(int) (rpos - 8 + i)] & 0xff);
                }
                assertEquals(String.format("%016x", got), l.get("got"), "bytes read at " + (rpos - 8) + ": " + l.raw());
                assertTrue(l.number("apos") >= appendedLength, "append offset behind the appended lines: " + l.raw());
            }
            c.killRestoredAndAwaitRestore();
            // The appended file holds each counter once, in order: nothing overwritten, nothing lost.
            List<String> got = Files.readAllLines(appended, StandardCharsets.UTF_8);
            List<String> want = new ArrayList<>();
            for (int i = 0; i < got.size(); i++) {
                want.add("counter " + i);
            }
            assertEquals(want, got);
            assertTrue(got.size() > c.lastBefore + 1, "nothing appended after restore");
        }
    }

    /**
     * Handlers, ignored signals and the blocked mask come back: SIGUSR1 (handled) runs its handler
     * after restore, SIGUSR2 (blocked) stays pending instead of killing the process.
     */
    @Test
    @Timeout(120)
    void signalStateAndHandlers() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-signals-static", "16", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(3, true);
            assertEquals(0x800, Long.parseLong(c.before.sigBlk(), 16) & 0x800, "the workload blocks SIGUSR2");
            c.restore();
            c.awaitRestoredLine();
            c.assertSameProcState();
            kill(w.pid, "USR1");
            RestoreWorkload.Line handled = w.awaitLine("usr1 1", l -> l.number("usr1") == 1);
            assertEquals(0, handled.number("term"));
            kill(w.pid, "TERM");
            w.awaitLine("term 1", l -> l.number("term") == 1);
            kill(w.pid, "USR2");
            long after = w.lastCounter();
            w.awaitLine("a counter after SIGUSR2", l -> l.counter() > after + 1);
            assertEquals(0x800, Long.parseLong(RestoreProcs.status(w.pid, "ShdPnd"), 16), "SIGUSR2 pending, not delivered");
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * Dumped while asleep in an hour-long nanosleep: restored, it sees EINTR once (restart fixup:
     * -ERESTART_RESTARTBLOCK cannot be restarted in a new task) and goes on.
     */
    @Test
    @Timeout(120)
    void sleepingInASyscall() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-sleep", "16", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            w.awaitRaw("sleeping");
            awaitWchan(w.pid, "hrtimer_nanosleep");
            c.dump(1, true);
            assertEquals(0, c.lastBefore);
            c.restore();
            w.awaitLine("counter 2", l -> l.counter() >= 2);
            List<String> raw = w.rawLines();
            assertEquals(1, raw.stream().filter(l -> l.startsWith("nanosleep returned")).count(), String.join("\n", raw));
            assertTrue(raw.stream().anyMatch(l -> l.startsWith("nanosleep returned -1 errno 4 ")),
                    "EINTR expected:\n" + String.join("\n", raw));
            c.assertSameProcState();
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    static void kill(int pid, String signal) throws Exception {
        ChildGroup.Finished f = ChildGroup.run(10, List.of("kill", "-" + signal, Integer.toString(pid)));
        assertEquals(0, f.exit(), "kill -" + signal + " " + pid + ": " + f.output());
    }

    /** Waits until the process sleeps in the kernel function {@code wchan}. */
    static void awaitWchan(int pid, String wchan) throws Exception {
        long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000L;
        String last = null;
        while (System.nanoTime() < end) {
            last = RestoreProcs.wchan(pid);
            if (wchan.equals(last)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("process " + pid + " never slept in " + wchan + " (last wchan " + last + ")");
    }

    /** The regular file the dumped process had open at {@code fd}. */
    private static RegularFile regularFileAt(Checkpoint cp, int fd) {
        for (FdSlot s : cp.root().fds()) {
            if (s.fd() == fd) {
                return (RegularFile) cp.file(s.fileId());
            }
        }
        throw new AssertionError("no fd " + fd + " in the checkpoint");
    }
}
