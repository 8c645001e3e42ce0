package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ThreadState;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Cpuid;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real CRIU (4.1.1, through criu-reference) restores what lazymig's image writer writes, for a
 * process with two threads: CRIU dumps python3 with a threading.Thread (its images carry the vdso
 * pages lazymig's own dumps leave out, see DumpCriuCompareIT), lazymig reads them into its model
 * and writes them out again (one core-TID.img per thread, its pstree, files.img, fdinfo, its xsave
 * fields), and {@code criu restore -d} from lazymig's images brings back both threads with their
 * tids: the counter, which the non-leader thread prints, goes on.
 */
class CriuRestoresOurImagesIT {
    private Path tool;

    @BeforeEach
    @Timeout(value = 20, unit = TimeUnit.MINUTES)
    void referenceRuns() throws Exception {
        tool = CriuReference.assumeRuns();
    }

    @Test
    @Timeout(120)
    void twoThreadedPythonFromImagesWrittenByLazymig() throws Exception {
        try (Workload w = Workload.pythonThreadsInOwnSession(50); TmpDir criu = new TmpDir("lazymig-criu-threads-");
             TmpDir ours = new TmpDir("lazymig-ours-threads-")) {
            w.awaitFirstLine();
            List<Integer> tids = tids(w.pid);
            assertEquals(2, tids.size(), "the workload runs two threads: " + tids);

            CriuReference.Result d = CriuReference.run(tool, 60, "criu", "dump", "-t", Integer.toString(w.pid), "-D",
                    criu.path.toString(), "-v4", "-o", "dump.log");
            if (d.exit() != 0) {
                fail("criu dump failed (exit " + d.exit() + "): " + d.output());
            }
            w.awaitGone();
            awaitPidFree(w.pid); // CRIU restores it under its pid: not while a zombie holds it
            long counter = w.lastLine().counter();

            Checkpoint cp = Checkpoint.read(criu.path, XsaveLayout.fromCpuid(Cpuid.enabledXfeatures(), Cpuid::query));
            List<Integer> read = new ArrayList<>();
            for (ThreadState t : cp.root().threads()) {
                read.add(t.tid());
            }
            assertEquals(tids, read, "lazymig reads both of CRIU's threads, the leader first");
            String pages = "pages-" + cp.pagemap().pagesId() + ".img";
            Files.copy(criu.resolve(pages), ours.resolve(pages));
            cp.write(ours.path);
            for (int tid : tids) {
                assertTrue(Files.exists(ours.resolve("core-" + tid + ".img")), "lazymig wrote core-" + tid + ".img");
            }
            assertEquals(cp, Checkpoint.read(ours.path), "lazymig's own reader reads its images back (its xsave area in them)");

            CriuReference.Result r = CriuReference.run(tool, 60, "criu", "restore", "-D", ours.path.toString(), "-d",
                    "-v4", "-o", "restore.log");
            if (r.exit() != 0) {
                fail("criu restore from lazymig's images failed (exit " + r.exit() + "): " + r.output());
            }
            w.awaitCounterAbove(counter);
            assertEquals(tids, tids(w.pid), "both threads back with their tids");
        }
    }

    /** Waits (at most 10 s) until nothing holds {@code pid}, not even a zombie its parent has not reaped yet. */
    private static void awaitPidFree(int pid) throws InterruptedException {
        Path proc = Path.of("/proc", Integer.toString(pid));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (Files.exists(proc)) {
            if (System.nanoTime() > deadline) {
                fail("pid " + pid + " still held 10 s after CRIU's dump killed it");
            }
            Thread.sleep(10);
        }
    }

    private static List<Integer> tids(int pid) throws IOException {
        List<Integer> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc", Integer.toString(pid), "task"))) {
            s.forEach(p -> out.add(Integer.parseInt(p.getFileName().toString())));
        }
        out.sort(null);
        return out;
    }
}
