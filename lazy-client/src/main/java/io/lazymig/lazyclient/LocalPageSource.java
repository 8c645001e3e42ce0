package io.lazymig.lazyclient;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ImageDir;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** Lazy pages from the checkpoint's own pages-N.img (local lazy restore). */
final class LocalPageSource implements PageSource {
    private final Checkpoint checkpoint;
    private final PagesFile pages;

    LocalPageSource(Path dir, Checkpoint checkpoint) throws IOException {
        this.checkpoint = checkpoint;
        this.pages = ImageDir.of(dir).openPages(checkpoint.pagemap().pagesId());
    }

    @Override
    public void read(int pid, long source, ByteBuffer dst) throws IOException {
        PagemapIov iov = checkpoint.pagemap().find(source)
                .orElseThrow(() -> new IOException("no checkpoint data at 0x" + Long.toHexString(source)));
        if (!iov.isPresent() || source + dst.remaining() > iov.end()) {
            throw new IOException("checkpoint has no data for 0x" + Long.toHexString(source) + "+" + dst.remaining());
        }
        pages.read(iov.fileOffset(source), dst);
    }

    @Override
    public void close() throws IOException {
        pages.close();
    }
}
