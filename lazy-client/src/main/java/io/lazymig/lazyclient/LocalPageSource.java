package io.lazymig.lazyclient;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ImageDir;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesFile;
import io.lazymig.jni.Buffers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** Lazy pages from the checkpoint's own pages-N.img (local lazy restore), read on the caller's thread. */
final class LocalPageSource implements PageSource {
    private final Checkpoint checkpoint;
    private final PagesFile pages;
    private final LazyPagesDaemon daemon;
    private final ByteBuffer buffer;

    LocalPageSource(Path dir, Checkpoint checkpoint, LazyPagesDaemon daemon, int maxFetchBytes) throws IOException {
        this.checkpoint = checkpoint;
        this.pages = ImageDir.of(dir).openPages(checkpoint.pagemap().pagesId());
        this.daemon = daemon;
        this.buffer = Buffers.allocatePageAligned(maxFetchBytes);
    }

    @Override
    public void fetch(Fetch f) throws IOException {
        PagemapIov iov = checkpoint.pagemap().find(f.source)
                .orElseThrow(() -> new IOException("no checkpoint data at 0x" + Long.toHexString(f.source)));
        if (!iov.isPresent() || f.source + f.length > iov.end()) {
            throw new IOException("the checkpoint has no data for 0x" + Long.toHexString(f.source) + "+" + f.length
                    + " here: use --lazy-client to fetch it from the source host");
        }
        buffer.clear().limit((int) f.length);
        pages.read(iov.fileOffset(f.source), buffer);
        buffer.flip();
        daemon.deliver(f, buffer);
    }

    @Override
    public boolean async() {
        return false;
    }

    @Override
    public void close() throws IOException {
        pages.close();
    }
}
