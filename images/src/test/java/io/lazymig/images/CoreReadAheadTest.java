package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.core_entry;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CoreReadAheadTest {
    @TempDir
    Path files;
    @TempDir
    Path memory;

    private Map<String, byte[]> held(Checkpoint c) throws Exception {
        Samples.writePages(memory, c.pagemap());
        Map<String, byte[]> held = new TreeMap<>();
        c.write(ImageDir.withMemory(memory, held));
        return held;
    }

    /** Offers every held image, then waits until the read-ahead has parsed every core among them. */
    private static void offerAll(CoreReadAhead ahead, Map<String, byte[]> held) throws InterruptedException {
        int cores = 0;
        for (Map.Entry<String, byte[]> e : held.entrySet()) {
            ahead.offer(e.getKey(), e.getValue());
            cores += e.getKey().startsWith("core-") ? 1 : 0;
        }
        for (int i = 0; i < 500 && ahead.parsed() < cores; i++) {
            Thread.sleep(10);
        }
        assertEquals(cores, ahead.parsed(), "every core parsed ahead");
    }

    @Test
    void theCheckpointReadWithCoresParsedAheadIsTheOneReadFromTheBytes() throws Exception {
        Checkpoint c = Samples.writeSample(files);
        Map<String, byte[]> held = held(c);
        XsaveLayout layout = SyntheticCpu.amdAvx512();
        try (CoreReadAhead ahead = new CoreReadAhead(memory)) {
            offerAll(ahead, held);
            ImageDir d = ImageDir.withMemory(memory, held, ahead);
            int pid = c.root().pid();
            assertSame(d.readCore(pid), d.readCore(pid), "taken from the read-ahead, not parsed again");
            assertEquals(Checkpoint.read(ImageDir.withMemory(memory, held), layout), Checkpoint.read(d, layout));
        }
    }

    @Test
    void aCoreWhoseBytesAreNotTheOnesParsedIsReadAgainWithItsError() throws Exception {
        Checkpoint c = Samples.writeSample(files);
        Map<String, byte[]> held = held(c);
        int pid = c.root().pid();
        String name = ImageType.CORE.fileName(pid);
        try (CoreReadAhead ahead = new CoreReadAhead(memory)) {
            offerAll(ahead, held);
            byte[] copy = held.get(name).clone();
            held.put(name, copy);
            core_entry again = ImageDir.withMemory(memory, held, ahead).readCore(pid);
            assertNotSame(ImageDir.withMemory(memory, held, ahead).readCore(pid), again, "parsed by each read");
            held.put(name, Arrays.copyOf(copy, copy.length - 1)); // truncated after it was parsed ahead
            ImageException e = assertThrows(ImageException.class,
                    () -> ImageDir.withMemory(memory, held, ahead).readCore(pid));
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
    }

    @Test
    void aBadCoreOfferedIsLeftToTheRead() throws Exception {
        Map<String, byte[]> held = held(Samples.writeSample(files));
        try (CoreReadAhead ahead = new CoreReadAhead(memory)) {
            byte[] junk = {1, 2, 3};
            ahead.offer("core-7.img", junk);
            ahead.offer("mm-7.img", junk);
            offerAll(ahead, held); // parsed in order: the junk was tried before the sample's cores
            assertEquals(held.keySet().stream().filter(n -> n.startsWith("core-")).count(), ahead.parsed(),
                    "the junk not among the parsed");
            assertThrows(ImageException.class,
                    () -> ImageDir.withMemory(memory, Map.of("core-7.img", junk), ahead).readCore(7));
        }
    }
}
