package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.Vma;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restore refuses bad input with one line naming the problem, a non-zero exit, and nothing left
 * behind: no stub (no process running this tree's lazymig-stub) and no half-restored process
 * (nothing under the checkpoint's pid, nothing running the workload's exe).
 */
class RestoreBadInputIT {
    @TempDir
    static Path shared;
    /** One checkpoint of a small static workload (killed by the dump), copied and spoilt per test. */
    static Path goodImages;
    static int dumpedPid;
    static String dumpedExe;

    @TempDir
    Path dir;

    @BeforeAll
    @Timeout(60)
    static void dumpOnce() throws Exception {
        try (RestoreWorkload w = RestoreWorkload.c(shared, "checksum-loop-static", "4", "100")) {
            RestoreCycle c = new RestoreCycle(shared, w);
            c.dump(2, false);
            goodImages = c.images;
            dumpedPid = w.pid;
            dumpedExe = w.exe;
        }
    }

    @AfterAll
    static void nothingOfOursRuns() throws Exception {
        assertEquals(List.of(), RestoreProcs.withExe(stubExe()), "stubs left running");
    }

    static String stubExe() throws IOException {
        return RestoreWorkload.root().resolve("native/target/lazymig-stub").toRealPath().toString();
    }

    /** A copy of the good checkpoint to spoil. */
    private Path copyOfImages() throws IOException {
        Path copy = dir.resolve("img");
        Files.createDirectories(copy);
        try (Stream<Path> s = Files.list(goodImages)) {
            for (Path p : s.toList()) {
                Files.copy(p, copy.resolve(p.getFileName()));
            }
        }
        return copy;
    }

    /** Runs restore, expects exit 1 and exactly one error line, which it returns. */
    private RestoreLauncher.Result restoreFails(String... args) throws Exception {
        RestoreLauncher.Result r = RestoreLauncher.run(dir, args);
        assertEquals(1, r.exit(), r.toString());
        assertEquals(1, r.errorLines().size(), "one error line expected:\n" + r);
        return r;
    }

    private static void assertNothingLeft(int pid, String exe) throws IOException {
        assertFalse(RestoreProcs.running(pid), "a process runs under the checkpoint's pid " + pid);
        assertEquals(List.of(), RestoreProcs.withExe(stubExe()), "a restore stub is left");
        assertEquals(List.of(), RestoreProcs.withExe(exe), "a (half-)restored " + exe + " is left");
    }

    @Test
    @Timeout(60)
    void missingImagesDirectory() throws Exception {
        Path missing = dir.resolve("no-such-dir");
        RestoreLauncher.Result r = restoreFails("restore", "-D", missing.toString());
        assertEquals("lazymig restore: no images directory " + missing, r.errorLines().get(0));
        assertNothingLeft(dumpedPid, dumpedExe);
    }

    @Test
    @Timeout(60)
    void truncatedMmImage() throws Exception {
        Path img = copyOfImages();
        Path mm = img.resolve("mm-" + dumpedPid + ".img");
        long size = Files.size(mm);
        try (RandomAccessFile f = new RandomAccessFile(mm.toFile(), "rw")) {
            f.setLength(size / 2);
        }
        RestoreLauncher.Result r = restoreFails("restore", "-D", img.toString());
        assertThat(r.errorLines().get(0), matchesPattern("lazymig restore: mm-" + dumpedPid
                + "\\.img: entry 1 length \\d+ but only \\d+ bytes left \\(truncated\\)"));
        assertNothingLeft(dumpedPid, dumpedExe);
    }

    @Test
    @Timeout(60)
    void wrongMagic() throws Exception {
        Path img = copyOfImages();
        Path mm = img.resolve("mm-" + dumpedPid + ".img");
        try (RandomAccessFile f = new RandomAccessFile(mm.toFile(), "rw")) {
            f.write(new byte[] {1, 2, 3, 4});
        }
        RestoreLauncher.Result r = restoreFails("restore", "-D", img.toString());
        assertEquals("lazymig restore: mm-" + dumpedPid + ".img: common magic is 0x04030201, expected 0x54564319 (IMG_COMMON)",
                r.errorLines().get(0));
        assertNothingLeft(dumpedPid, dumpedExe);
    }

    /** A checkpoint whose [vdso] is a page shorter than this kernel's: the stub is started, then refused and killed. */
    @Test
    @Timeout(60)
    void vdsoLayoutDiffers() throws Exception {
        Path img = copyOfImages();
        Checkpoint cp = Checkpoint.read(img);
        List<Vma> vmas = new ArrayList<>();
        boolean changed = false;
        for (Vma v : cp.vmas()) {
            if ((v.status() & Vma.VMA_AREA_VDSO) != 0) {
                v = new Vma(v.start(), v.end() - 4096, v.prot(), v.flags(), v.status(), v.pgoff(), v.path(), v.madv());
                changed = true;
            }
            vmas.add(v);
        }
        assertTrue(changed, "the checkpoint has no [vdso]");
        ProcessImage p = cp.root();
        Checkpoint.of(new ProcessImage(p.state(), p.threads(), vmas, p.pagemap(), p.fds()), cp.files()).write(img);
        RestoreLauncher.Result r = restoreFails("restore", "-D", img.toString());
        assertThat(r.errorLines().get(0), matchesPattern("lazymig restore: the checkpoint's vdso block \\[.*\\] differs from "
                + "this kernel's \\[.*\\]: restore on a host running the same kernel as the source"));
        assertNothingLeft(dumpedPid, dumpedExe);
    }

    /**
     * The executable was a temporary copy, deleted after the dump, and did not travel with the images
     * (dump --carry-limit 0; by default a file this small would, and restore would recreate it):
     * restore names the missing file.
     */
    @Test
    @Timeout(60)
    void missingMappedFile() throws Exception {
        Path copy = dir.resolve("bin/checksum-loop-copy");
        Files.createDirectories(copy.getParent());
        Files.copy(Path.of(Workloads.path("checksum-loop")), copy, StandardCopyOption.COPY_ATTRIBUTES);
        RestoreWorkload w = RestoreWorkload.start(dir, "copy", List.of(copy.toString(), "4", "100"));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(2, false, "--carry-limit", "0");
            Files.delete(copy);
            RestoreLauncher.Result r = restoreFails("restore", "-D", c.images.toString());
            assertEquals("lazymig restore: cannot open " + copy + " for the restored process: ENOENT (No such file or directory)",
                    r.errorLines().get(0));
            assertNothingLeft(w.pid, copy.toString());
        }
    }

    /**
     * The original still runs (dump --leave-running): its pid is taken, restore says so. With
     * --any-pid it restores under another pid and the copy runs on with the same memory.
     */
    @Test
    @Timeout(90)
    void busyPidThenAnyPid() throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "checksum-loop", "8", "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(2, false, "--leave-running");
            String startTime = startTime(w.pid);
            RestoreLauncher.Result r = restoreFails("restore", "-D", c.images.toString());
            assertEquals("lazymig restore: pid " + w.pid + " is taken on this host; use --any-pid to restore the process "
                    + "under another pid", r.errorLines().get(0));
            assertEquals(startTime, startTime(w.pid), "the original process was disturbed");
            assertEquals(List.of(w.pid), RestoreProcs.withExe(w.exe), "only the original runs");
            assertEquals(List.of(), RestoreProcs.withExe(stubExe()), "a restore stub is left");
            String sum = w.lines().get(0).sum();

            // Stop the original so that only the copy writes to the shared output file.
            RestoreEagerIT.kill(w.pid, "STOP");
            RestoreLauncher.Running restore = c.closeLater(RestoreLauncher.start(dir.resolve("any-pid.log"), "restore",
                    "-D", c.images.toString(), "--any-pid", "-v", "3"));
            restore.awaitLog("running after");
            assertThat(restore.log(), containsString("pid " + w.pid + " is taken, restoring under another pid"));
            int other = Integer.parseInt(restore.log().replaceAll("(?s).*restore: process (\\d+) running after.*", "$1"));
            assertNotEquals(w.pid, other);
            try {
                RestoreWorkload.Line first = w.awaitLine("a line from pid " + other, l -> l.pid() == other);
                RestoreWorkload.Line next = w.awaitLine("a second line from pid " + other,
                        l -> l.pid() == other && l.counter() == first.counter() + 1);
                assertEquals(sum, first.sum());
                assertEquals(sum, next.sum());
                assertEquals(w.exe, RestoreProcs.exe(other));
                RestoreProcs.killIfExe(other, w.exe);
                assertEquals(137, restore.awaitExit(), restore.log());
            } finally {
                RestoreProcs.killIfExe(other, w.exe);
            }
        }
    }

    @Test
    @Timeout(60)
    void lazyPagesWithoutADaemon() throws Exception {
        Path sock = dir.resolve("nobody.sock");
        RestoreLauncher.Result r = restoreFails("restore", "-D", goodImages.toString(), "--lazy-pages", "--address",
                sock.toString(), "--wait-daemon", "0");
        assertEquals("lazymig restore: no lazy-pages daemon at " + sock + " (connect(" + sock + "): ENOENT (No such file "
                + "or directory)): start 'lazymig lazy-pages --address " + sock + " -D DIR' first", r.errorLines().get(0));
        assertNothingLeft(dumpedPid, dumpedExe);
    }

    /** Field 22 of /proc/PID/stat: tells a process from a later one under the same pid. */
    private static String startTime(int pid) throws IOException {
        String s = Files.readString(RestoreProcs.proc(pid, "stat"));
        return s.substring(s.lastIndexOf(')') + 2).split(" ")[19];
    }
}
