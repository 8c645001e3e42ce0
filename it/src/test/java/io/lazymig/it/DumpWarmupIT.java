package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.migrate.DumpWarmup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dump rehearsal that migrate and dump --lazy-pages run before their freeze
 * ({@link DumpWarmup}): it completes and leaves nothing behind; at its deadline it is abandoned
 * and still leaves nothing behind (its throw-away target killed, its directory removed), so the
 * real dump proceeds instead of waiting on it.
 */
class DumpWarmupIT {
    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void completesAndLeavesNothing() throws Exception {
        assertTrue(DumpWarmup.run(dir, DumpWarmup.targetPath(), Duration.ofSeconds(90)), "the rehearsal completes");
        awaitNothingLeft();
    }

    /**
     * A deadline it cannot meet (it has not even started its target by then): run returns false
     * without waiting for the three dumps; the target the rehearsal starts after the deadline is
     * killed at once and the rehearsal cleans up after itself.
     */
    @Test
    @Timeout(120)
    void abandonedAtItsDeadline() throws Exception {
        assertFalse(DumpWarmup.run(dir, DumpWarmup.targetPath(), Duration.ofNanos(1)), "abandoned, not completed");
        awaitNothingLeft();
        assertTrue(DumpWarmup.run(dir, DumpWarmup.targetPath(), Duration.ofSeconds(90)),
                "a rehearsal after an abandoned one completes");
        awaitNothingLeft();
    }

    /** No rehearsal directory and no live warm-up target, within the patience. */
    private void awaitNothingLeft() throws Exception {
        long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000L;
        List<String> left = leftovers();
        while (!left.isEmpty() && System.nanoTime() < end) {
            Thread.sleep(20);
            left = leftovers();
        }
        assertTrue(left.isEmpty(), "left behind: " + left);
    }

    private List<String> leftovers() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(p -> out.add(p.toString()));
        }
        Path target = DumpWarmup.targetPath().toRealPath();
        try (Stream<Path> s = Files.list(Path.of("/proc"))) {
            for (Path p : s.filter(q -> q.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    if (Files.readSymbolicLink(p.resolve("exe")).equals(target) && !zombie(p)) {
                        out.add("process " + p.getFileName() + " (" + target.getFileName() + ")");
                    }
                } catch (IOException e) {
                    // gone, or a kernel thread without exe
                }
            }
        }
        return out;
    }

    private static boolean zombie(Path proc) throws IOException {
        String stat = Files.readString(proc.resolve("stat"));
        return stat.charAt(stat.lastIndexOf(')') + 2) == 'Z';
    }
}
