package io.lazymig.lazyserver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PagemapIov;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The destination's pages file: the source's own (a link) when a lazy dump left only the eager pages in it, else a copy. */
class DestinationImagesTest {
    private static final long HEAP = 0x10000000L;
    private static final long ANON = 0x20000000L;

    @TempDir
    Path dir;

    @Test
    void aLazyDumpsPagesFileIsLinkedNotCopied() throws IOException {
        // as dump --lazy-pages writes it: the lazy VMA PE_LAZY only, no data; the eager pages alone in the file
        Checkpoint cp = checkpoint(Pagemap.builder(1).add(HEAP, 4, PagemapIov.PE_PRESENT).add(ANON, 8, PagemapIov.PE_LAZY)
                .build(), 4);
        Path source = dir.resolve("pages-1.img");
        byte[] before = Files.readAllBytes(source);
        try (DestinationImages images = DestinationImages.build(cp, dir)) {
            Path dest = images.file("pages-1.img");
            assertTrue(Files.isSameFile(source, dest));
            assertEquals(4 * 4096L, size(images, "pages-1.img"));
        }
        assertArrayEquals(before, Files.readAllBytes(source), "the source outlives the destination's images");
    }

    @Test
    void lazyDataInTheSourceIsLeftOutByACopy() throws IOException {
        // a plain dump: the lazy pages' data is in the file too; the destination's holds the eager ones only
        Checkpoint cp = checkpoint(Pagemap.builder(1).add(HEAP, 4, PagemapIov.PE_PRESENT)
                .add(ANON, 8, PagemapIov.PE_LAZY | PagemapIov.PE_PRESENT).build(), 12);
        try (DestinationImages images = DestinationImages.build(cp, dir)) {
            Path dest = images.file("pages-1.img");
            assertFalse(Files.isSameFile(dir.resolve("pages-1.img"), dest));
            byte[] got = Files.readAllBytes(dest);
            assertEquals(4 * 4096, got.length);
            for (int i = 0; i < got.length; i++) {
                assertEquals((byte) (i / 4096 + 1), got[i]);
            }
        }
    }

    private static long size(DestinationImages images, String name) {
        return images.images().stream().filter(i -> i.name().equals(name)).findFirst().orElseThrow().size();
    }

    /** One process with {@code pm}; its pages file holds {@code pages} pages, page p all bytes p+1. */
    private Checkpoint checkpoint(Pagemap pm, int pages) throws IOException {
        return LazyServerTest.writeCheckpoint(dir, pm, pages);
    }
}
