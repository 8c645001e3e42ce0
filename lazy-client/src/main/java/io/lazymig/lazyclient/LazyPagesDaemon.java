package io.lazymig.lazyclient;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.Vma;
import io.lazymig.jni.Buffers;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Poll;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.UffdMessage;
import io.lazymig.jni.UffdMessages;
import io.lazymig.jni.Userfaultfd;
import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig lazy-pages}: takes the userfaultfds of restored processes from restore and fills
 * their lazy memory — each fault at once with its neighbourhood (fault-around), and every other
 * page in the background — until every page is in. One thread, one poll over every uffd and the
 * restore connection; faults always go before background chunks; no busy polling.
 */
public final class LazyPagesDaemon {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-pages");
    private static final long PAGE = SystemInfo.PAGE_SIZE;
    /** The non-cooperative events restore enabled on each uffd (CRIU-FACTS §1.4). */
    static final long FEATURES = Userfaultfd.FEATURE_EVENT_FORK | Userfaultfd.FEATURE_EVENT_REMAP
            | Userfaultfd.FEATURE_EVENT_REMOVE | Userfaultfd.FEATURE_EVENT_UNMAP;

    /** Tunables, defaults from measurement (see the README). */
    public record Options(Path address, Path dir, int faultAroundBytes, int chunkBytes, int idleTimeoutSeconds,
                          Runnable ready) {
        public Options {
            if (faultAroundBytes < PAGE || Long.bitCount(faultAroundBytes) != 1) {
                throw new IllegalArgumentException("fault-around window must be a power of two of at least one page");
            }
            if (chunkBytes < PAGE || chunkBytes % PAGE != 0) {
                throw new IllegalArgumentException("chunk size must be whole pages");
            }
        }
    }

    private final Options options;
    private final Checkpoint checkpoint;
    private final PageSource source;
    private final Stats stats;
    private final List<LazyProcess> processes = new ArrayList<>();
    private final UffdMessages messages = new UffdMessages(64);
    private final ByteBuffer buffer;
    private RestoreLink restore;
    private boolean restoreFinished;
    private long lastFaultNanos = System.nanoTime();

    public LazyPagesDaemon(Options options, Checkpoint checkpoint, PageSource source, Stats stats) {
        this.options = options;
        this.checkpoint = checkpoint;
        this.source = source;
        this.stats = stats;
        this.buffer = Buffers.allocatePageAligned(Math.max(options.faultAroundBytes(), options.chunkBytes()));
    }

    /** Local lazy restore: the pages come from the checkpoint's own pages-N.img. */
    public static Stats runLocal(Options o, PrintStream progress) throws IOException {
        Checkpoint cp = Checkpoint.read(o.dir());
        try (PageSource src = new LocalPageSource(o.dir(), cp)) {
            Stats stats = new Stats(cp.pagemap().lazyPages());
            if (progress != null) {
                stats.progressTo(progress);
            }
            new LazyPagesDaemon(o, cp, src, stats).run();
            return stats;
        }
    }

    public void run() throws IOException {
        restore = RestoreLink.accept(options.address(), options.ready());
        try {
            int tasks = 1; // one process per checkpoint (pstree.img has one entry)
            for (int i = 0; i < tasks; i++) {
                RestoreLink.TaskRecord t = restore.readTask();
                if (t.uffd() == null) {
                    continue;
                }
                if (t.pid() != checkpoint.task().pid()) {
                    t.uffd().close();
                    throw new IOException("restore sent pid " + t.pid() + ", the checkpoint in " + options.dir()
                            + " is of pid " + checkpoint.task().pid());
                }
                LazyProcess p = LazyProcess.restored(t.pid(), Userfaultfd.adopt(t.uffd(), FEATURES), checkpoint);
                processes.add(p);
                wakeWaiters(p);
            }
            stats.started();
            loop();
            stats.finished();
            log.info("lazy-pages: every page is in: {}", stats.summary());
        } finally {
            processes.forEach(LazyProcess::close);
            restore.close();
        }
    }

    /**
     * Wakes every thread waiting on a fault in the lazy areas, so that each faults again and queues
     * a message this daemon reads. It matters when this daemon takes over from a dead one (restore
     * hands the same uffd on): fault messages the dead daemon read but never served are gone, and
     * their waiters would otherwise wait for a copy over their page, which never comes for a page
     * the checkpoint lacks (a zero page). With no waiters it does nothing.
     */
    private void wakeWaiters(LazyProcess p) throws IOException {
        for (Vma v : checkpoint.vmas()) {
            if (v.canBeLazy()) {
                p.uffd.wake(v.start(), v.length());
            }
        }
    }

    private void loop() throws IOException {
        while (!processes.isEmpty()) {
            reapCompleted();
            if (processes.isEmpty()) {
                break;
            }
            boolean background = backgroundActive();
            Poll poll = new Poll(processes.size() + 1);
            for (int i = 0; i < processes.size(); i++) {
                poll.set(i, processes.get(i).uffd.fd(), Poll.POLLIN);
            }
            int restoreSlot = processes.size();
            poll.set(restoreSlot, restore.isOpen() && !restoreFinished ? restore.fd() : -1, Poll.POLLIN);
            int ready = poll.poll(background ? 0 : pollTimeoutMillis());
            boolean faulted = false;
            if (ready > 0) {
                if (poll.ready(restoreSlot, (short) (Poll.POLLIN | Poll.POLLHUP | Poll.POLLERR))) {
                    onRestoreMessage();
                }
                for (LazyProcess p : new ArrayList<>(processes)) {
                    int i = processes.indexOf(p);
                    if (i >= 0 && i < restoreSlot && poll.ready(i, (short) (Poll.POLLIN | Poll.POLLERR | Poll.POLLHUP))) {
                        faulted |= drain(p);
                    }
                }
            }
            if (!faulted && backgroundActive()) {
                backgroundChunk();
            }
        }
    }

    private int pollTimeoutMillis() {
        return options.idleTimeoutSeconds() > 0 ? 100 : 1000;
    }

    /** Background transfer runs once restore finished, or in the seed's mode after an idle spell. */
    private boolean backgroundActive() {
        if (options.idleTimeoutSeconds() > 0) {
            return System.nanoTime() - lastFaultNanos > options.idleTimeoutSeconds() * 1_000_000_000L;
        }
        return restoreFinished;
    }

    private void onRestoreMessage() throws IOException {
        try {
            restore.readFinished();
            log.debug("lazy-pages: restore finished");
        } catch (EOFException e) {
            log.warn("lazy-pages: restore closed the connection before RESTORE_FINISHED; serving on");
        }
        restoreFinished = true;
    }

    /** Reads and handles every queued message of one uffd; returns whether a fault was served. */
    private boolean drain(LazyProcess p) throws IOException {
        boolean faulted = false;
        while (processes.contains(p)) {
            int n = messages.readFrom(p.uffd);
            if (n == 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                UffdMessage m = messages.get(i);
                if (m.isPageFault()) {
                    serveFault(p, m.pageFaultAddress() & -PAGE);
                    faulted = true;
                } else if (m.isFork()) {
                    LazyProcess child = p.forkChild(Userfaultfd.adopt(m.forkUffdDescriptor(), FEATURES));
                    processes.add(child);
                    log.debug("lazy-pages: process {} forked; the child shares {} pending bytes", p.imagePid,
                            child.pending.bytes());
                } else if (m.isRemap()) {
                    p.pending.remap(m.remapFrom(), m.remapTo(), m.remapLength());
                } else if (m.isRemove() || m.isUnmap()) {
                    p.pending.remove(m.rangeStart(), m.rangeEnd());
                }
            }
        }
        return faulted;
    }

    /** The faulting page and the pending pages of its aligned window; a page not in the checkpoint gets zeros. */
    private void serveFault(LazyProcess p, long page) throws IOException {
        long t0 = System.nanoTime();
        lastFaultNanos = t0;
        p.lastFault = page;
        long window = options.faultAroundBytes();
        long start = page & -window;
        boolean covered = false;
        for (PendingPages.Run r : p.pending.take(start, start + window)) {
            boolean holdsFault = r.start() <= page && page < r.end();
            covered |= holdsFault;
            copy(p, r, holdsFault ? Stats.Kind.FAULT : Stats.Kind.FAULT_AROUND, page);
            if (!processes.contains(p)) {
                return;
            }
        }
        if (!covered) {
            long rc = p.uffd.zeropage(page, PAGE, 0);
            if (rc == -Errno.EEXIST) {
                p.uffd.wake(page, PAGE);
            } else if (rc == -Errno.ESRCH || rc == -Errno.ENOSPC) {
                gone(p);
                return;
            } else if (rc >= 0) {
                stats.zeroPage();
            }
        }
        stats.faultServed(System.nanoTime() - t0);
    }

    /**
     * Copies a run from the source into the process, handling the kernel's outcomes (CRIU-FACTS
     * §3.6). The source is read once per buffer; a page already there (EEXIST: a racing fill, or
     * every page a dead predecessor copied when this daemon took its uffd over) is skipped within
     * the same buffer, and a short copy is issued again for the rest to learn why it stopped.
     */
    private void copy(LazyProcess p, PendingPages.Run run, Stats.Kind kind, long faultPage) throws IOException {
        long at = run.start();
        while (at < run.end()) {
            long pieceStart = at;
            int len = (int) Math.min(run.end() - at, buffer.capacity());
            buffer.clear().limit(len);
            source.read(p.imagePid, run.sourceOf(at), buffer);
            long pieceEnd = at + len;
            while (at < pieceEnd) {
                long rc = p.uffd.copy(at, Buffers.address(buffer) + (at - pieceStart), pieceEnd - at, 0);
                if (rc > 0) {
                    stats.copied(kind, rc, faultPage >= at && faultPage < at + rc);
                    at += rc;
                } else if (rc == -Errno.EEXIST) {
                    at += PAGE;
                } else if (rc == -Errno.EAGAIN) {
                    requeueAndDrain(p, run, at, faultPage);
                    return;
                } else if (rc == -Errno.ENOENT) {
                    return; // unmapped meanwhile: the event that says so is queued
                } else if (rc == -Errno.ESRCH || rc == -Errno.ENOSPC) {
                    gone(p);
                    return;
                } else {
                    throw new IOException("UFFDIO_COPY at 0x" + Long.toHexString(at) + " returned " + rc);
                }
            }
        }
    }

    /**
     * A copy stopped by a layout change the kernel has queued (mremap, munmap, fork): put the rest
     * back, read the events (which move or drop it), then serve the fault again if it was left out.
     */
    private void requeueAndDrain(LazyProcess p, PendingPages.Run run, long at, long faultPage) throws IOException {
        p.pending.add(at, run.end(), run.sourceOf(at));
        drain(p);
        if (faultPage >= at && faultPage < run.end() && processes.contains(p)) {
            serveFault(p, faultPage);
        }
    }

    private void backgroundChunk() throws IOException {
        for (LazyProcess p : new ArrayList<>(processes)) {
            PendingPages.Run next = p.pending.nextFrom(p.lastFault);
            if (next == null) {
                continue;
            }
            for (PendingPages.Run r : p.pending.take(next.start(), Math.min(next.end(), next.start() + options.chunkBytes()))) {
                copy(p, r, Stats.Kind.BACKGROUND, -1);
            }
            return;
        }
    }

    private void reapCompleted() {
        for (LazyProcess p : new ArrayList<>(processes)) {
            if (p.complete()) {
                processes.remove(p);
                if (!p.forkedChild) {
                    restore.reportComplete(p.imagePid);
                }
                p.close();
                log.debug("lazy-pages: process {} has every page", p.imagePid);
            }
        }
    }

    private void gone(LazyProcess p) {
        log.info("lazy-pages: process {} exited", p.imagePid);
        processes.remove(p);
        p.close();
    }
}
