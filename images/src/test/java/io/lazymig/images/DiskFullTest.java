package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A full disk names the image it could not write: the stream's own error is only "No space left
 * on device", which left 'lazymig dump' saying just that. /dev/full fails every write with ENOSPC.
 */
class DiskFullTest {
    private static final Path FULL = Path.of("/dev/full");

    @Test
    void pagesWriterNamesTheFile() throws IOException {
        try (PagesWriter w = PagesWriter.create(FULL)) {
            IOException e = assertThrows(IOException.class, () -> w.append(ByteBuffer.allocateDirect(PagemapIov.PAGE_SIZE)));
            assertEquals("cannot write /dev/full: No space left on device", e.getMessage());
        }
    }
}
