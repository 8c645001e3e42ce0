package io.lazymig.lazyserver;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.ProcessImage;
import java.util.LinkedHashMap;
import java.util.Map;
import io.lazymig.protocol.Errors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * Lazy pages of a checkpoint, read from a source of each process's page data (pages-N.img or a
 * frozen process); a request names the process by its image pid, as CRIU's page-server iovs do.
 */
public final class CheckpointPageStore implements PageStore {
    /** How the bytes of a present iov are fetched. */
    public interface Data extends AutoCloseable {
        void read(PagemapIov iov, long vaddr, ByteBuffer dst) throws IOException;

        @Override
        void close() throws IOException;
    }

    /** How a process's page data is opened (its pages-N.img, or the frozen process itself). */
    @FunctionalInterface
    public interface DataOpener {
        Data open(ProcessImage process) throws IOException;
    }

    private final Checkpoint checkpoint;
    /** Each process's data by image pid. */
    private final Map<Integer, Data> data = new LinkedHashMap<>();

    /** The root's pages only, from {@code data}. */
    public CheckpointPageStore(Checkpoint checkpoint, Data data) {
        this.checkpoint = checkpoint;
        this.data.put(checkpoint.root().pid(), data);
    }

    /** The pages of every process of the tree, each from the data {@code opener} opens for it. */
    public CheckpointPageStore(Checkpoint checkpoint, DataOpener opener) throws IOException {
        this.checkpoint = checkpoint;
        try {
            for (ProcessImage p : checkpoint.processes()) {
                data.put(p.pid(), opener.open(p));
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public int pid() {
        return checkpoint.task().pid();
    }

    /** The lazy pages of every process served. */
    @Override
    public long lazyPages() {
        long n = 0;
        for (ProcessImage p : checkpoint.processes()) {
            if (data.containsKey(p.pid())) {
                n += p.pagemap().lazyPages();
            }
        }
        return n;
    }

    @Override
    public int read(int pid, long vaddr, int nrPages, ByteBuffer dst) throws IOException {
        Data d = data.get(pid);
        ProcessImage process = checkpoint.process(pid).orElse(null);
        if (d == null || process == null) {
            throw new Refused(Errors.NO_SUCH_PID, "no process " + pid + " in this checkpoint (it holds " + data.keySet()
                    + ")");
        }
        if ((vaddr & (PagemapIov.PAGE_SIZE - 1)) != 0 || nrPages <= 0) {
            throw new Refused(Errors.BAD_REQUEST, "bad page range 0x" + Long.toHexString(vaddr) + " x" + nrPages);
        }
        Optional<PagemapIov> found = process.pagemap().find(vaddr);
        if (found.isEmpty() || !found.get().isLazy()) {
            throw new Refused(Errors.NOT_LAZY, "no lazy page at 0x" + Long.toHexString(vaddr) + " in the checkpoint");
        }
        PagemapIov iov = found.get();
        long pages = Math.min(nrPages, (iov.end() - vaddr) / PagemapIov.PAGE_SIZE);
        pages = Math.min(pages, dst.remaining() / PagemapIov.PAGE_SIZE);
        ByteBuffer part = dst.duplicate();
        part.limit(part.position() + (int) (pages * PagemapIov.PAGE_SIZE));
        d.read(iov, vaddr, part);
        dst.position(part.position());
        return (int) pages;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (Data d : data.values()) {
            try {
                d.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
