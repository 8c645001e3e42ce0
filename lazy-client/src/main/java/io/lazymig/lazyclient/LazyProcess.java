package io.lazymig.lazyclient;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.Vma;
import io.lazymig.jni.Userfaultfd;

/** One restored process the daemon serves: its uffd and the pages it still misses. */
final class LazyProcess implements AutoCloseable {
    /** The pid as in the images (what restore sent); forked children carry their parent's. */
    final int imagePid;
    final Userfaultfd uffd;
    final PendingPages pending;
    final boolean forkedChild;
    /** Where the last fault was: background transfer starts nearest to it. */
    long lastFault;

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

    /** A child forked by a served process: it shares the parent's missing pages. */
    LazyProcess forkChild(Userfaultfd childUffd) {
        return new LazyProcess(imagePid, childUffd, pending.copy(), true);
    }

    boolean complete() {
        return pending.isEmpty();
    }

    @Override
    public void close() {
        uffd.close();
    }
}
