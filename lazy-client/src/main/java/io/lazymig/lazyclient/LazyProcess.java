package io.lazymig.lazyclient;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.Vma;
import io.lazymig.jni.Errno;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Userfaultfd;
import java.util.ArrayList;
import java.util.List;

/**
 * One restored process the daemon serves: its uffd, the pages it still misses, and those in flight.
 * Everything here, the uffd's reads, fills, wakes and close included, happens under the daemon's
 * lock: a fill is computed from the layout the events read so far describe, and any event not read
 * yet makes the kernel refuse it (EAGAIN), so no copy lands where the process moved or released
 * memory; and the uffd is never closed while another thread may use its number.
 */
final class LazyProcess implements AutoCloseable {
    /** The pid as in the images (what restore sent); forked children carry their parent's. */
    final int imagePid;
    /** The process in the checkpoint whose pages this one misses (a forked child: its parent's). */
    final ProcessImage image;
    final Userfaultfd uffd;
    final PendingPages pending;
    final List<Fetch> inFlight = new ArrayList<>();
    final boolean forkedChild;
    /** Where the last fault was: background transfer starts nearest to it. */
    long lastFault;
    boolean gone;
    boolean closed;
    /** The threads waiting on a missing page, each since its fault message was read. */
    final ThreadWaits waits = new ThreadWaits();

    private LazyProcess(int imagePid, Userfaultfd uffd, PendingPages pending, boolean forkedChild, ProcessImage image) {
        this.image = image;
        this.imagePid = imagePid;
        this.uffd = uffd;
        this.pending = pending;
        this.forkedChild = forkedChild;
    }

    /** A restored process: every lazy page of the checkpoint is pending. */
    static LazyProcess restored(int imagePid, Userfaultfd uffd, Checkpoint cp) {
        return restored(imagePid, uffd, cp.root());
    }

    /** A restored process of the tree, {@code image}: every lazy page of it is pending. */
    static LazyProcess restored(int imagePid, Userfaultfd uffd, ProcessImage image) {
        PendingPages p = new PendingPages();
        for (PagemapIov iov : image.pagemap().iovs()) {
            if (iov.isLazy() && image.vmaAt(iov.vaddr()).map(Vma::canBeLazy).orElse(false)) {
                p.add(iov.vaddr(), iov.end(), iov.vaddr());
            }
        }
        return new LazyProcess(imagePid, uffd, p, false, image);
    }

    /**
     * A child forked by a served process: it shares the parent's missing pages, including those in
     * flight for the parent (the child's copies of them are still missing).
     */
    LazyProcess forkChild(Userfaultfd childUffd) {
        PendingPages p = pending.copy();
        for (Fetch f : inFlight) {
            if (!f.dropped) {
                p.add(f.start + f.done, f.end(), f.source + f.done);
            }
        }
        return new LazyProcess(imagePid, childUffd, p, true, image);
    }

    /** The layout moved: pending pages and fetches in flight follow; threads waiting in the old place fault again. */
    void remap(long from, long to, long len) {
        for (Fetch f : inFlight) {
            if (f.dropped || !f.overlapsRest(from, from + len)) {
                continue;
            }
            if (f.start + f.done >= from && f.end() <= from + len) {
                f.shift(to - from);
            } else {
                giveBack(f); // partly moved: the remap below moves its pages page-run by page-run
            }
        }
        pending.remap(from, to, len);
        wake(from, len);
    }

    /** Memory dropped (munmap, MADV_DONTNEED): no data needed there any more; waiters there fault again. */
    void drop(long start, long end) {
        for (Fetch f : inFlight) {
            if (!f.dropped && f.overlapsRest(start, end)) {
                giveBack(f);
            }
        }
        pending.remove(start, end);
        wake(start, end - start);
    }

    /** Hands the pages of {@code f} not yet in back to pending and drops it; its waiters fault again. */
    private void giveBack(Fetch f) {
        long at = f.start + f.done;
        pending.add(at, f.end(), f.source + f.done);
        f.dropped = true;
        wake(at, f.end() - at);
    }

    /** UFFDIO_WAKE; a process gone or a uffd closed needs no waking. */
    void wake(long start, long len) {
        if (closed || gone || len <= 0) {
            return;
        }
        waits.woken(start, start + len);
        try {
            uffd.wake(start, len);
        } catch (NativeException e) {
            if (e.errno() != Errno.ESRCH) {
                throw new IllegalStateException("UFFDIO_WAKE(0x" + Long.toHexString(start) + ", " + len + ") failed", e);
            }
            gone = true;
        }
    }

    /** The in-flight fetch that will fill {@code page}, one asked for a fault before a background chunk; or null. */
    Fetch fetching(long page) {
        Fetch found = null;
        for (Fetch f : inFlight) {
            if (!f.dropped && f.start + f.done <= page && page < f.end()) {
                if (f.kind != Stats.Kind.BACKGROUND) {
                    return f;
                }
                found = f;
            }
        }
        return found;
    }

    boolean complete() {
        return pending.isEmpty() && inFlight.isEmpty();
    }

    @Override
    public void close() {
        closed = true;
        uffd.close();
    }
}
