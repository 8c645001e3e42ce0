package io.lazymig.images;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes a raw {@code pages-N.img}: the data of the PE_PRESENT iovs, appended in pagemap order.
 * Direct buffers are written without a copy on the Java heap.
 */
public final class PagesWriter implements Closeable {
    private final Path file;
    private final FileChannel channel;
    private long size;

    private PagesWriter(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** Creates (or truncates) the file. */
    public static PagesWriter create(Path file) throws IOException {
        return new PagesWriter(file, FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING));
    }

    /**
     * Appends all remaining bytes of {@code src}, which must be whole pages.
     *
     * @return the file offset the data starts at
     * @throws IOException naming the file (a full disk: "cannot write DIR/pages-1.img: No space left on device")
     */
    public long append(ByteBuffer src) throws IOException {
        if (src.remaining() % PagemapIov.PAGE_SIZE != 0) {
            throw new IllegalArgumentException(src.remaining() + " bytes is not a whole number of pages");
        }
        long offset = size;
        try {
            while (src.hasRemaining()) {
                size += channel.write(src, size);
            }
        } catch (IOException e) {
            throw new IOException("cannot write " + file + ": " + e.getMessage(), e);
        }
        return offset;
    }

    /** Bytes written so far. */
    public long size() {
        return size;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
