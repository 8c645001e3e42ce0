package io.lazymig.images;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Read access to a raw {@code pages-N.img}: positioned reads, so a page server can serve any range
 * without loading the file. The file offset of a page comes from {@link PagemapIov#fileOffset(long)}.
 * Thread-safe: positioned reads on one {@link FileChannel} do not share a position.
 */
public final class PagesFile implements Closeable {
    private final String name;
    private final FileChannel channel;

    private PagesFile(String name, FileChannel channel) {
        this.name = name;
        this.channel = channel;
    }

    public static PagesFile open(Path file) throws ImageException {
        String name = String.valueOf(file.getFileName());
        try {
            ImageReader.checkRegularFile(file, name);
            return new PagesFile(name, FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS));
        } catch (NoSuchFileException e) {
            throw new ImageException(name + ": missing in " + file.toAbsolutePath().getParent(), e);
        } catch (ImageException e) {
            throw e;
        } catch (IOException e) {
            throw new ImageException(name + ": cannot open: " + e, e);
        }
    }

    public String name() {
        return name;
    }

    /** The channel, for transferTo or mapping. Owned by this object: do not close it. */
    public FileChannel channel() {
        return channel;
    }

    public long size() throws IOException {
        return channel.size();
    }

    /**
     * Fills {@code dst} (all of its remaining bytes) from the file at {@code offset}.
     *
     * @throws ImageException if the file ends first
     */
    public void read(long offset, ByteBuffer dst) throws IOException {
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
        long position = offset;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, position);
            if (n < 0) {
                throw new ImageException(name + ": ends at " + position + ", " + dst.remaining()
                        + " bytes short of the range at " + offset);
            }
            position += n;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
