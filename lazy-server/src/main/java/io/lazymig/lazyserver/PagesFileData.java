package io.lazymig.lazyserver;

import io.lazymig.images.ImageDir;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** Page data read from pages-N.img with positioned reads (safe from every session's thread). */
public final class PagesFileData implements CheckpointPageStore.Data {
    private final PagesFile pages;

    public PagesFileData(Path dir, int pagesId) throws IOException {
        this.pages = ImageDir.of(dir).openPages(pagesId);
    }

    @Override
    public void read(PagemapIov iov, long vaddr, ByteBuffer dst) throws IOException {
        if (!iov.isPresent()) {
            throw new PageStore.Refused(io.lazymig.protocol.Errors.NOT_LAZY,
                    "the pages at 0x" + Long.toHexString(vaddr) + " are not in this checkpoint's pages file");
        }
        pages.read(iov.fileOffset(vaddr), dst);
    }

    @Override
    public void close() throws IOException {
        pages.close();
    }
}
