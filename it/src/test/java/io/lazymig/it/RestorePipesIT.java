package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pipes, FIFOs and high fds through dump and restore, eager and lazy, with real processes:
 * restore-pipes keeps three records in flight in a pipe to itself, in a pipe between its threads and
 * in a FIFO at every instant, holds fds 1000, 1001, 1002 and 1500, and exits at the first record
 * lost, repeated or damaged; a workload whose stdout is the test's pipe (to cat) is refused without
 * --external and reconnected by --inherit-fd; a corrupt pipes-data.img is one clear error.
 */
class RestorePipesIT {
    @TempDir
    Path dir;

    private RestoreCycle pipesCycle() throws IOException, InterruptedException {
        Path high = dir.resolve("high.bin");
        byte[] content = new byte[256];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i * 7);
        }
        Files.write(high, content);
        return new RestoreCycle(dir, RestoreWorkload.c(dir, "restore-pipes", "8", "50", dir.resolve("fifo").toString(),
                high.toString()));
    }

    /** Eager, with the FIFO gone from its directory meanwhile: restore makes it again. */
    @Test
    void eager() throws Exception {
        try (RestoreCycle c = pipesCycle()) {
            c.dump(6, false);
            Files.delete(dir.resolve("fifo"));
            c.restore();
            checkRestored(c);
            c.killRestoredAndAwaitRestore();
        }
    }

    @Test
    void lazy() throws Exception {
        try (RestoreCycle c = pipesCycle()) {
            c.dump(6, false);
            c.restoreFromLocalDaemon();
            checkRestored(c);
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * Every record read after restore is the next one (the tick's own check), the counts of records
     * read go on from before, the fds above 1000 are back with their kinds, and RLIMIT_NOFILE is the
     * workload's own 1501 (raised for restore's parking area and put back).
     */
    private static void checkRestored(RestoreCycle c) throws IOException, InterruptedException {
        long last = c.lastBefore;
        RestoreWorkload.Line l = c.workload.awaitLine("counter " + (last + 5) + " after restore",
                x -> x.counter() >= last + 5);
        c.assertOneContinuousRun(c.pid());
        for (RestoreWorkload.Line x : c.workload.lines()) {
            long reads = Math.max(0, x.counter() - 2);
            assertEquals(reads, x.number("inA"), x.raw());
            assertEquals(reads, x.number("inC"), x.raw());
            assertEquals(reads, x.number("inF"), x.raw());
            assertEquals("OK", x.get("fds"), x.raw());
            assertEquals(1501, x.number("nofile"), x.raw());
            assertEquals(128 * 1024, x.number("szC"), "pipe C's size: " + x.raw());
        }
        assertFalse(c.workload.text().contains("ERROR"), c.workload.text());
        int pid = c.pid();
        assertEquals(c.dir.resolve("high.bin").toString(), link(pid, 1000));
        assertTrue(link(pid, 1001).startsWith("pipe:["), link(pid, 1001));
        assertEquals(link(pid, 1001), link(pid, 1500), "fds 1001 and 1500 are the two ends of one pipe");
        assertEquals(c.dir.resolve("fifo").toString(), link(pid, 1002));
        assertEquals(0010000, (Integer) Files.getAttribute(c.dir.resolve("fifo"), "unix:mode") & 0170000, "a FIFO");
        assertTrue(l.counter() > last);
        // restore's own stdio is gone from the process: nothing above 1500
        try (var s = Files.list(Path.of("/proc", Integer.toString(pid), "fd"))) {
            assertTrue(s.mapToInt(p -> Integer.parseInt(p.getFileName().toString())).allMatch(fd -> fd <= 1500));
        }
    }

    private static String link(int pid, int fd) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd))).toString();
    }

    @Test
    void externalPipeRefusedThenInherited() throws Exception {
        Path out = dir.resolve("cat.out");
        Path images = dir.resolve("img");
        try (RestoreWorkload w = PipedToCat.start(dir, out)) {
            w.awaitLine("counter 3", l -> l.counter() >= 3);
            String pipe = link(w.pid, 1);
            assertTrue(pipe.startsWith("pipe:["), pipe);
            RestoreLauncher.Result refused = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D",
                    images.toString());
            assertEquals(1, refused.exit(), refused.toString());
            assertEquals(List.of("lazymig dump: process " + w.pid + " fd 1 is " + pipe + ", which process "), refused
                    .errorLines().stream().map(s -> s.substring(0, s.indexOf("which process ") + "which process ".length()))
                    .toList(), refused.toString());
            assertTrue(refused.stderr().contains("(cat) fd 0 outside the dump holds too: dump with --external '" + pipe
                    + "'"), refused.toString());
            assertTrue(RestoreProcs.running(w.pid), "a refused dump leaves the process running");

            RestoreLauncher.Result dumped = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D",
                    images.toString(), "--external", pipe);
            assertEquals(0, dumped.exit(), dumped.toString());
            RestoreProcs.awaitGone(w.pid);
            long last = lastCounter(out);

            RestoreLauncher.Result noInherit = RestoreLauncher.run(dir, "restore", "-D", images.toString());
            assertEquals(1, noInherit.exit(), noInherit.toString());
            assertTrue(noInherit.stderr().contains("fd 1 is the external " + pipe + " (write end, external): restore with "
                    + "--inherit-fd 'fd[N]:" + pipe + "'"), noInherit.toString());
            assertFalse(RestoreProcs.running(w.pid), "a refused restore starts nothing");

            // fd 3 of restore: a pipe to another cat; the process's stdout becomes it
            Path out2 = dir.resolve("cat2.out");
            try (RestoreLauncher.Running r = RestoreLauncher.startInShell(dir.resolve("restore.log"),
                    "\"$LAZYMIG\" restore -D " + RestoreWorkload.quote(images.toString()) + " --inherit-fd 'fd[3]:" + pipe
                            + "' 3>&1 >" + RestoreWorkload.quote(dir.resolve("restore.out").toString()) + " 2>&1 | cat >"
                            + RestoreWorkload.quote(out2.toString()));
                 RestoreWorkload after = adoptRestored(w, out2, r)) {
                RestoreWorkload.Line first = after.awaitLine("a line after restore", l -> true);
                assertEquals(last + 1, first.counter(), "the first line through the inherited pipe follows the last one "
                        + "before the dump:\n" + after.text());
                after.awaitLine("counter " + (last + 3), l -> l.counter() >= last + 3);
                RestoreProcs.killIfExe(w.pid, w.exe);
                assertEquals(0, waitShell(r), r.log());
            }

            // a path instead: the write end appends to it
            Path log = dir.resolve("stdout.log");
            RestoreLauncher.Result detached = RestoreLauncher.run(dir, "restore", "-D", images.toString(), "-d",
                    "--inherit-fd", log + ":" + pipe);
            assertEquals(0, detached.exit(), detached.toString());
            try (RestoreWorkload after = adoptRestored(w, log, null)) {
                RestoreWorkload.Line first = after.awaitLine("a line after restore", l -> true);
                assertEquals(last + 1, first.counter(), after.text());
            }
        }
    }

    /** The restored {@code w} once it runs its exe again (restore started by {@code r}, if any), its lines in {@code out}. */
    private RestoreWorkload adoptRestored(RestoreWorkload w, Path out, RestoreLauncher.Running r)
            throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RestoreWorkload.PATIENCE_MS);
        while (!w.exe.equals(RestoreProcs.exe(w.pid))) {
            assertTrue(System.nanoTime() < end, "process " + w.pid + " not restored" + (r == null ? "" : ":\n" + r.log()));
            assertTrue(r == null || r.process.isAlive(), "restore exited:\n" + (r == null ? "" : r.log()));
            Thread.sleep(10);
        }
        return RestoreWorkload.adopt(w.pid, out, dir, w.command);
    }

    private static int waitShell(RestoreLauncher.Running r) throws InterruptedException {
        return r.awaitExit();
    }

    private static long lastCounter(Path out) throws IOException {
        long last = -1;
        for (String s : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            RestoreWorkload.Line l = RestoreWorkload.parse(s);
            if (l != null) {
                last = l.counter();
            }
        }
        return last;
    }

    /** The reference crit decodes the pipe images: every pipe's id, byte count, size and bytes, the FIFO by path. */
    @Test
    void critDecodesThePipeImages() throws Exception {
        Path tool = CriuReference.assumeRuns();
        try (RestoreCycle c = pipesCycle()) {
            c.dump(6, false, "--leave-running");
            io.lazymig.images.ImageDir d = io.lazymig.images.ImageDir.of(c.images);
            for (io.lazymig.images.ImageType t : List.of(io.lazymig.images.ImageType.PIPES_DATA,
                    io.lazymig.images.ImageType.FIFO_DATA)) {
                String json = crit(tool, c.images.resolve(t.fileName(0)));
                List<io.lazymig.images.ImageDir.PipeDataEntry> entries = d.readPipeData(t);
                assertEquals(t == io.lazymig.images.ImageType.PIPES_DATA ? 3 : 1, entries.size(), json);
                for (io.lazymig.images.ImageDir.PipeDataEntry e : entries) {
                    String base64 = java.util.Base64.getMimeEncoder(76, new byte[] {'\n'}).encodeToString(e.bytes());
                    String expected = "{\"pipe_id\": " + Integer.toUnsignedString(e.entry().getPipeId()) + ", \"bytes\": "
                            + e.bytes().length + ", \"size\": " + e.entry().getSize() + ", \"extra\": \""
                            + (base64.isEmpty() ? "" : base64.replace("\n", "\\n") + "\\n") + "\"}";
                    assertTrue(json.contains(expected), "crit shows " + expected + " in " + json);
                }
            }
            String files = crit(tool, c.images.resolve("files.img"));
            assertTrue(files.contains("\"type\": \"FIFO\""), files);
            assertTrue(files.contains("\"name\": \"" + dir.resolve("fifo") + "\""), files);
            assertEquals(6, files.split("\"type\": \"PIPE\"", -1).length - 1, "six pipe ends: " + files);
        }
    }

    private static String crit(Path tool, Path image) throws Exception {
        CriuReference.Result r = CriuReference.run(tool, 60, "crit", "decode", "-i", image.toString());
        assertEquals(0, r.exit(), r.output());
        return r.output();
    }

    @Test
    void corruptPipeDataIsOneClearError() throws Exception {
        try (RestoreCycle c = pipesCycle()) {
            c.dump(4, false);
            Path data = c.images.resolve("pipes-data.img");
            byte[] raw = Files.readAllBytes(data);
            Files.write(data, java.util.Arrays.copyOf(raw, raw.length - 10));
            for (boolean lazy : new boolean[] {false, true}) {
                RestoreLauncher.Result r;
                if (lazy) {
                    Path sock = dir.resolve("lazy.sock");
                    // the daemon reads the images too, and refuses them the same way
                    try (RestoreLauncher.Running daemon = RestoreLauncher.startLazyPages(dir.resolve("lazy-pages.log"), sock,
                            c.images)) {
                        r = RestoreLauncher.run(dir, "restore", "-D", c.images.toString(), "--lazy-pages", "--address",
                                sock.toString(), "--wait-daemon", "0");
                        assertEquals(1, daemon.awaitExit(), daemon.log());
                        assertTrue(daemon.log().contains("pipes-data.img: entry "), daemon.log());
                    }
                } else {
                    r = RestoreLauncher.run(dir, "restore", "-D", c.images.toString());
                }
                assertEquals(1, r.exit(), r.toString());
                assertEquals(1, r.errorLines().size(), r.toString());
                assertTrue(r.errorLines().get(0).startsWith("lazymig restore: pipes-data.img: entry "), r.toString());
                assertTrue(r.errorLines().get(0).contains("truncated"), r.toString());
                assertFalse(RestoreProcs.running(c.pid()), "nothing runs after a refused restore (lazy " + lazy + ")");
            }
        }
    }
}
