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
    private final FileChannel channel;
    private long size;

    private PagesWriter(FileChannel channel) {
        this.channel = channel;
    }

    /** Creates (or truncates) the file. */
    public static PagesWriter create(Path file) throws IOException {
        return new PagesWriter(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING));
    }

    /**
     * Appends all remaining bytes of {@code src}, which must be whole pages.
     *
     * @return the file offset the data starts at
     */
    public long append(ByteBuffer src) throws IOException {
        if (src.remaining() % PagemapIov.PAGE_SIZE != 0) {
            throw new IllegalArgumentException(src.remaining() + " bytes is not a whole number of pages");
        }
        long offset = size;
        while (src.hasRemaining()) {
            size += channel.write(src, size);
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
