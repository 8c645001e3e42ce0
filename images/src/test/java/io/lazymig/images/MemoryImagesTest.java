package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemoryImagesTest {
    @TempDir
    Path files;
    @TempDir
    Path memory;

    @Test
    void imagesWrittenToMemoryHoldTheBytesTheFilesWouldAndOnlyPagesStayFiles() throws Exception {
        Checkpoint c = Samples.writeSample(files);
        Samples.writePages(memory, c.pagemap());
        Map<String, byte[]> into = new TreeMap<>();
        c.write(ImageDir.withMemory(memory, into));

        Set<String> pages = new TreeSet<>();
        try (Stream<Path> s = Files.list(memory)) {
            s.forEach(p -> pages.add(p.getFileName().toString()));
        }
        assertEquals(Set.of(ImageType.PAGES.fileName(c.pagemap().pagesId())), pages, "no image file, no temporary left");
        Set<String> written = new TreeSet<>();
        try (Stream<Path> s = Files.list(files)) {
            s.forEach(p -> written.add(p.getFileName().toString()));
        }
        written.removeAll(pages);
        assertEquals(written, into.keySet());
        for (String name : written) {
            assertArrayEquals(Files.readAllBytes(files.resolve(name)), into.get(name), name);
        }
    }

    @Test
    void aCheckpointReadFromMemoryIsTheOneFromTheFiles() throws Exception {
        Checkpoint c = Samples.writeSample(files);
        Samples.writePages(memory, c.pagemap());
        Map<String, byte[]> held = new TreeMap<>();
        c.write(ImageDir.withMemory(memory, held));
        XsaveLayout layout = SyntheticCpu.amdAvx512();
        assertEquals(Checkpoint.read(files, layout), Checkpoint.read(ImageDir.withMemory(memory, held), layout));
        assertEquals(c, Checkpoint.read(ImageDir.withMemory(memory, held), layout));
    }
}
