package io.lazymig.lazyserver;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.PagemapIov;
import io.lazymig.protocol.Errors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;

/** Lazy pages of a checkpoint, read from a source of its page data (pages-N.img or a frozen process). */
public final class CheckpointPageStore implements PageStore {
    /** How the bytes of a present iov are fetched. */
    public interface Data extends AutoCloseable {
        void read(PagemapIov iov, long vaddr, ByteBuffer dst) throws IOException;

        @Override
        void close() throws IOException;
    }

    private final Checkpoint checkpoint;
    private final Data data;

    public CheckpointPageStore(Checkpoint checkpoint, Data data) {
        this.checkpoint = checkpoint;
        this.data = data;
    }

    @Override
    public int pid() {
        return checkpoint.task().pid();
    }

    @Override
    public long lazyPages() {
        return checkpoint.pagemap().lazyPages();
    }

    @Override
    public int read(int pid, long vaddr, int nrPages, ByteBuffer dst) throws IOException {
        if (pid != pid()) {
            throw new Refused(Errors.NO_SUCH_PID, "no process " + pid + " in this checkpoint (it holds " + pid() + ")");
        }
        if ((vaddr & (PagemapIov.PAGE_SIZE - 1)) != 0 || nrPages <= 0) {
            throw new Refused(Errors.BAD_REQUEST, "bad page range 0x" + Long.toHexString(vaddr) + " x" + nrPages);
        }
        Optional<PagemapIov> found = checkpoint.pagemap().find(vaddr);
        if (found.isEmpty() || !found.get().isLazy()) {
            throw new Refused(Errors.NOT_LAZY, "no lazy page at 0x" + Long.toHexString(vaddr) + " in the checkpoint");
        }
        PagemapIov iov = found.get();
        long pages = Math.min(nrPages, (iov.end() - vaddr) / PagemapIov.PAGE_SIZE);
        pages = Math.min(pages, dst.remaining() / PagemapIov.PAGE_SIZE);
        ByteBuffer part = dst.duplicate();
        part.limit(part.position() + (int) (pages * PagemapIov.PAGE_SIZE));
        data.read(iov, vaddr, part);
        dst.position(part.position());
        return (int) pages;
    }

    @Override
    public void close() throws IOException {
        data.close();
    }
}
