package io.lazymig.lazyclient;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.Vma;
import io.lazymig.jni.Userfaultfd;
import java.util.ArrayList;
import java.util.List;

/** One restored process the daemon serves: its uffd, the pages it still misses, and those in flight. */
final class LazyProcess implements AutoCloseable {
    /** The pid as in the images (what restore sent); forked children carry their parent's. */
    final int imagePid;
    final Userfaultfd uffd;
    final PendingPages pending;
    final List<Fetch> inFlight = new ArrayList<>();
    final boolean forkedChild;
    /** Where the last fault was: background transfer starts nearest to it. */
    long lastFault;
    boolean gone;

    private LazyProcess(int imagePid, Userfaultfd uffd, PendingPages pending, boolean forkedChild) {
        this.imagePid = imagePid;
        this.uffd = uffd;
        this.pending = pending;
        this.forkedChild = forkedChild;
    }

    /** A restored process: every lazy page of the checkpoint is pending. */
    static LazyProcess restored(int imagePid, Userfaultfd uffd, Checkpoint cp) {
        PendingPages p = new PendingPages();
        for (PagemapIov iov : cp.pagemap().iovs()) {
            if (iov.isLazy() && cp.vmaAt(iov.vaddr()).map(Vma::canBeLazy).orElse(false)) {
                p.add(iov.vaddr(), iov.end(), iov.vaddr());
            }
        }
        return new LazyProcess(imagePid, uffd, p, false);
    }

    /**
     * A child forked by a served process: it shares the parent's missing pages, including those in
     * flight for the parent (the child's copies of them are still missing).
     */
    LazyProcess forkChild(Userfaultfd childUffd) {
        PendingPages p = pending.copy();
        for (Fetch f : inFlight) {
            if (!f.dropped) {
                p.add(f.start, f.end, f.source);
            }
        }
        return new LazyProcess(imagePid, childUffd, p, true);
    }

    /** The layout moved: pending pages and fetches in flight follow. */
    void remap(long from, long to, long len) {
        for (Fetch f : inFlight) {
            boolean inside = f.start >= from && f.end <= from + len;
            boolean overlaps = f.start < from + len && from < f.end;
            if (inside) {
                f.shift(to - from);
            } else if (overlaps && !f.dropped) {
                // partly moved: hand its pages back to pending, which the remap below moves page by page
                pending.add(f.start, f.end, f.source);
                f.dropped = true;
            }
        }
        pending.remap(from, to, len);
    }

    /** Memory dropped (munmap, MADV_DONTNEED): no data needed there any more. */
    void drop(long start, long end) {
        pending.remove(start, end);
        inFlight.forEach(f -> f.unmap(start, end));
    }

    /** The in-flight fetch that will fill {@code page}, or null. */
    Fetch fetching(long page) {
        for (Fetch f : inFlight) {
            if (!f.dropped && f.start <= page && page < f.end) {
                return f;
            }
        }
        return null;
    }

    boolean complete() {
        return pending.isEmpty() && inFlight.isEmpty();
    }

    @Override
    public void close() {
        uffd.close();
    }
}
