package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.images.CarriedFile;
import io.lazymig.images.Checkpoint;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The small files that travel with the images are read before the freeze when they have settled,
 * and the frozen dump takes that content only for a file still unchanged: a file overwritten in
 * place (same size) between that read and the freeze travels with its new content.
 */
class DumpCarriedFilesIT {
    @Test
    @Timeout(120)
    void aFileChangedAfterThePrefetchTravelsAsItIsAtTheFreeze() throws Exception {
        try (TmpDir dir = new TmpDir("lazymig-carried-")) {
            Path read = dir.resolve("read.bin");
            byte[] before = new byte[4096];
            Arrays.fill(before, (byte) 'A');
            Files.write(read, before);
            awaitSettled(read);
            RestoreWorkload w = RestoreWorkload.c(dir.path, "restore-files", "1", "50", dir.resolve("appended.txt").toString(),
                    read.toString(), "0");
            try (w) {
                w.awaitLine("first line", l -> true);
                Path go = dir.resolve("go");
                Path images = dir.resolve("images");
                List<String> cmd = new ArrayList<>(List.of(Workload.root().resolve("lazymig").toString(), "dump",
                        "--leave-running", "-v", "4", "-t", Integer.toString(w.pid), "-D", images.toString()));
                Path out = dir.resolve("dump.out");
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
                pb.environment().put("LAZYMIG_PAUSE_AFTER", "prefetch");
                pb.environment().put("LAZYMIG_PAUSE_UNTIL", go.toString());
                byte[] after = new byte[4096];
                Arrays.fill(after, (byte) 'B');
                try (ChildGroup dump = ChildGroup.start(pb)) {
                    awaitText(out, "paused after step prefetch", dump);
                    try (FileChannel ch = FileChannel.open(read, StandardOpenOption.WRITE)) {
                        ch.write(ByteBuffer.wrap(after), 0); // in place: same size, only mtime/ctime tell
                    }
                    Files.createFile(go);
                    assertTrue(dump.awaitExit(60), "the dump finished");
                    assertEquals(0, dump.process.exitValue(), Files.readString(out));
                }
                String log = Files.readString(out);
                assertTrue(log.matches("(?s).*of them read before the freeze.*"), "the dump says what it prefetched:\n" + log);
                Checkpoint cp = Checkpoint.read(images);
                CarriedFile f = cp.carried().stream().filter(c -> c.path().equals(read.toString())).findFirst()
                        .orElseThrow(() -> new AssertionError(read + " travels: " + cp.carried()));
                assertArrayEquals(after, f.content(), "the content at the freeze, not the one read before it");
                assertTrue(cp.carried().stream().anyMatch(c -> c.path().endsWith("/restore-files")),
                        "the executable travels too: " + cp.carried());
            }
        }
    }

    /** Waits (on the clock the file's times are on) until the file's last change is older than the settling time. */
    private static void awaitSettled(Path file) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            FileTime ctime = (FileTime) Files.getAttribute(file, "unix:ctime");
            if (System.currentTimeMillis() - ctime.toMillis() > 2_500) {
                return;
            }
            if (System.nanoTime() > deadline) {
                fail(file + " did not settle");
            }
            Thread.sleep(50);
        }
    }

    private static void awaitText(Path file, String text, ChildGroup child) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(file).contains(text)) {
            if (!child.process.isAlive()) {
                fail("the dump exited before '" + text + "':\n" + Files.readString(file));
            }
            if (System.nanoTime() > deadline) {
                fail("the dump printed no '" + text + "' in 60 s:\n" + Files.readString(file));
            }
            Thread.sleep(10);
        }
    }
}
