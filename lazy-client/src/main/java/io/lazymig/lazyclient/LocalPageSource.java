package io.lazymig.lazyclient;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ImageDir;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.PagesFile;
import io.lazymig.jni.Buffers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** Lazy pages from the checkpoint's own pages-N.img (local lazy restore), read on the caller's thread. */
final class LocalPageSource implements PageSource {
    private final Checkpoint checkpoint;
    /** Each process's pages-N.img, by image pid, opened at its first fetch. */
    private final java.util.Map<Integer, PagesFile> pages = new java.util.HashMap<>();
    private final Path dir;
    private final LazyPagesDaemon daemon;
    private final ByteBuffer buffer;

    LocalPageSource(Path dir, Checkpoint checkpoint, LazyPagesDaemon daemon, int maxFetchBytes) throws IOException {
        this.checkpoint = checkpoint;
        this.dir = dir;
        this.daemon = daemon;
        this.buffer = Buffers.allocatePageAligned(maxFetchBytes);
    }

    @Override
    public void fetch(Fetch f) throws IOException {
        ProcessImage image = f.process.image;
        PagemapIov iov = image.pagemap().find(f.source)
                .orElseThrow(() -> new IOException("no checkpoint data at 0x" + Long.toHexString(f.source)));
        if (!iov.isPresent() || f.source + f.length > iov.end()) {
            throw new IOException("the checkpoint has no data for 0x" + Long.toHexString(f.source) + "+" + f.length
                    + " here: use --lazy-client to fetch it from the source host");
        }
        buffer.clear().limit((int) f.length);
        PagesFile file = pages.get(image.pid());
        if (file == null) {
            file = ImageDir.of(dir).openPages(image.pagemap().pagesId());
            pages.put(image.pid(), file);
        }
        file.read(iov.fileOffset(f.source), buffer);
        buffer.flip();
        daemon.deliver(f, buffer);
    }

    @Override
    public boolean async() {
        return false;
    }

    @Override
    public void close() throws IOException {
        for (PagesFile f : pages.values()) {
            f.close();
        }
    }
}
