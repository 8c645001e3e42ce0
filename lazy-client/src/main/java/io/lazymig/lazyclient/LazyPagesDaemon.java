package io.lazymig.lazyclient;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.Vma;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Buffers;
import io.lazymig.jni.Cpuid;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Poll;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.UffdHandoff;
import io.lazymig.jni.UffdMessage;
import io.lazymig.jni.UffdMessages;
import io.lazymig.jni.UnixSocket;
import io.lazymig.jni.Userfaultfd;
import io.lazymig.protocol.TransferScheduling;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig lazy-pages}: takes the userfaultfds of restored processes from restore and fills
 * their lazy memory — each fault at once with its neighbourhood (fault-around), every other page in
 * the background — until every page is in.
 *
 * <p>Threads: this one polls every uffd and the restore connection, reads the kernel's messages
 * and asks the page source for data; answers arrive through {@link #deliver}, on this thread for
 * the local source, on the source's receiving and copying threads for a remote one, and are copied
 * in with UFFDIO_COPY straight from the buffer they arrived in. Faults are asked for before
 * background chunks, of which several stay in flight for a remote source.
 *
 * <p>One lock, {@link #lock}, guards the shared state and every use of a uffd: reading its
 * messages and applying the events, each UFFDIO_COPY / ZEROPAGE / WAKE (computed from the state
 * under the same hold), and its close. So a copy never goes where the events read so far say the
 * memory no longer is, an event the kernel queued but this daemon has not read makes the copy fail
 * with EAGAIN (the kernel's mmap_changing), and no fd is closed under a thread using it. Copies are
 * made in pieces of at most {@link #COPY_PIECE} bytes, the lock released between them, and a
 * background piece gives way to every other taker of the lock ({@link FaultFirstLock}): a fault
 * waits at most for the one piece in progress, never behind the rest of the background.
 */
public final class LazyPagesDaemon {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-pages");
    private static final long PAGE = SystemInfo.PAGE_SIZE;
    /** The most one UFFDIO_COPY copies while holding the lock (~15 us at the copy's speed). */
    static final long COPY_PIECE = 64 << 10;

    /** Tunables; the CLI's defaults come from measurement (see the README). */
    public record Options(Path address, Path dir, int faultAroundBytes, int chunkBytes, int chunksInFlight,
                          int idleTimeoutSeconds, Runnable ready) {
        public Options {
            if (faultAroundBytes < PAGE || Long.bitCount(faultAroundBytes) != 1) {
                throw new IllegalArgumentException("fault-around window must be a power of two of at least one page");
            }
            if (chunkBytes < PAGE || chunkBytes % PAGE != 0 || chunkBytes > (4 << 20)) {
                throw new IllegalArgumentException("chunk size must be whole pages, at most 4 MiB");
            }
            if (chunksInFlight < 1) {
                throw new IllegalArgumentException("at least one chunk in flight");
            }
        }

        /** The largest fetch a daemon with these options makes, for sizing receive buffers. */
        public int maxFetchBytes() {
            return Math.max(faultAroundBytes, chunkBytes);
        }
    }

    private final Options options;
    private final Checkpoint checkpoint;
    private final Stats stats;
    private final List<LazyProcess> processes = new ArrayList<>();
    private final ConcurrentLinkedQueue<Retry> retryFaults = new ConcurrentLinkedQueue<>();

    /** A fault whose copy a layout change interrupted: served again once the events are read. */
    private record Retry(LazyProcess process, long page) {
    }
    private final UffdMessages messages = new UffdMessages(64);
    /** The fault addresses of one batch of messages (main loop only). */
    private final long[] faultPages = new long[64];
    private PageSource source;
    private RestoreLink restore;
    private volatile boolean restoreFinished;
    /** Restore closed its connection before RESTORE_FINISHED: it died (killed) before its processes ran, or just after. */
    private volatile boolean restoreDied;
    /** Processes (not forked children) that exited with pages still missing, and those that got every page (main loop only). */
    private int goneIncomplete;
    private int completed;
    /** Task records restore has still to send (main loop only). */
    private int tasksLeft;
    private volatile long lastFaultNanos = System.nanoTime();
    private volatile IOException fatal;
    private int backgroundInFlight;
    /** Threads of the fault path about to take the lock; background copies hold off while any is. */
    private final FaultFirstLock lock = new FaultFirstLock();
    private final FaultTimeline timeline = new FaultTimeline();

    public LazyPagesDaemon(Options options, Checkpoint checkpoint, Stats stats) {
        this.options = options;
        this.checkpoint = checkpoint;
        this.stats = stats;
    }

    /** Local lazy restore: the pages come from the checkpoint's own pages-N.img. */
    public static Stats runLocal(Options o, java.io.PrintStream progress) throws IOException {
        Checkpoint cp = readCheckpoint(o.dir());
        Stats stats = new Stats(lazyPages(cp));
        LazyPagesDaemon d = new LazyPagesDaemon(o, cp, stats);
        try (PageSource src = new LocalPageSource(o.dir(), cp, d, o.maxFetchBytes());
             ProgressLine line = ProgressLine.start(stats, progress)) {
            d.run(src);
        }
        return stats;
    }

    /** Remote lazy restore: the pages come from the lazy server {@code source} is connected to. */
    public static Stats runRemote(Options o, RemotePageSource source, java.io.PrintStream progress) throws IOException {
        long t0 = System.nanoTime();
        Checkpoint cp = readCheckpoint(o.dir());
        log.debug("lazy-pages: checkpoint read in {} us", (System.nanoTime() - t0) / 1000);
        return runRemote(o, cp, source, progress);
    }

    /**
     * As {@link #runRemote(Options, RemotePageSource, java.io.PrintStream)}, with the checkpoint of
     * {@code o.dir()} read already ({@link #readCheckpoint}), e.g. while the source was connecting.
     */
    public static Stats runRemote(Options o, Checkpoint cp, RemotePageSource source, java.io.PrintStream progress)
            throws IOException {
        return runRemote(o, cp, source, progress, null);
    }

    /**
     * As {@link #runRemote(Options, Checkpoint, RemotePageSource, java.io.PrintStream)}, restore
     * accepted on {@code listening} (null: listens on {@code o.address()} itself): a socket already
     * listening there, which this daemon owns and closes. The agent listens before the images come,
     * so restore's connect never waits for this daemon's start (threads, buffers) on a busy host;
     * {@code o.ready()} is not told then (the caller knows when it listened).
     */
    public static Stats runRemote(Options o, Checkpoint cp, RemotePageSource source, java.io.PrintStream progress,
            UnixSocket listening) throws IOException {
        long t0 = System.nanoTime();
        Stats stats = new Stats(lazyPages(cp));
        LazyPagesDaemon d = new LazyPagesDaemon(o, cp, stats);
        source.start(d);
        log.debug("lazy-pages: page source started in {} us", (System.nanoTime() - t0) / 1000);
        try (source; ProgressLine line = ProgressLine.start(stats, progress)) {
            d.run(source, listening);
        }
        return stats;
    }

    /** The checkpoint a daemon serves, as it reads it (the xsave layout of this CPU). */
    public static Checkpoint readCheckpoint(Path dir) throws IOException {
        return Checkpoint.read(dir, XsaveLayout.fromCpuid(Cpuid.enabledXfeatures(), Cpuid::query));
    }

    /** The largest fetch this daemon makes, for sizing receive buffers. */
    public int maxFetchBytes() {
        return options.maxFetchBytes();
    }

    /** The lazy pages of every process of the tree. */
    static long lazyPages(Checkpoint cp) {
        long n = 0;
        for (ProcessImage p : cp.processes()) {
            n += p.pagemap().lazyPages();
        }
        return n;
    }

    /**
     * Serves every process restore hands over from {@code source} until each has every page. Restore
     * sends one record per process of the tree (pstree.img's count, zombies included, as CRIU's
     * daemon reads them): the first is awaited here, the others are read as they come, while the
     * processes handed over already are served.
     */
    public void run(PageSource source) throws IOException {
        run(source, null);
    }

    /** As {@link #run(PageSource)}, restore accepted on {@code listening} when not null (see runRemote). */
    private void run(PageSource source, UnixSocket listening) throws IOException {
        this.source = source;
        restore = listening != null ? RestoreLink.accept(listening, options.address())
                : RestoreLink.accept(options.address(), options.ready());
        tasksLeft = checkpoint.processes().size() + checkpoint.zombies().size();
        try {
            readTask();
            stats.started();
            loop();
            stats.finished();
            if (restoreDied && goneIncomplete > 0) {
                // restore traces its processes with PTRACE_O_EXITKILL until they run: its death took them along
                throw new IOException(completed == 0
                        ? "restore ended before it finished (killed?) and the process it was restoring is gone with "
                                + "pages missing: nothing was migrated; restore again from the same images"
                        : "restore ended before it finished (killed?) and " + goneIncomplete + " of the "
                                + (completed + goneIncomplete) + " processes it was restoring are gone with pages "
                                + "missing: the tree was not migrated whole; restore again from the same images");
            }
            log.info("lazy-pages: every page is in: {}", stats.summary());
        } finally {
            timeline.flush();
            timeline.flushLongWaits();
            lock.lock();
            try {
                processes.forEach(LazyProcess::close);
            } finally {
                lock.unlock();
            }
            restore.close();
        }
    }

    /** One task record from restore: a process of the checkpoint to serve, or a zombie (nothing to serve). */
    private void readTask() throws IOException {
        RestoreLink.TaskRecord t = restore.readTask();
        tasksLeft--;
        if (t.uffd() == null) {
            return;
        }
        ProcessImage image = checkpoint.process(t.pid()).orElse(null);
        if (image == null) {
            t.uffd().close();
            throw new IOException("restore sent pid " + t.pid() + ", which is no process of the checkpoint in "
                    + options.dir() + " (it holds " + checkpoint.processes().stream().map(ProcessImage::pid).toList() + ")");
        }
        LazyProcess p = LazyProcess.restored(t.pid(), Userfaultfd.adopt(t.uffd(), UffdHandoff.FEATURES), image);
        lock.lock();
        try {
            processes.add(p);
        } finally {
            lock.unlock();
        }
        wakeWaiters(p);
    }

    /**
     * Wakes every thread waiting on a fault in the lazy areas, so that each faults again and queues
     * a message this daemon reads. It matters when this daemon takes over from a dead one (restore
     * hands the same uffd on): fault messages the dead daemon read but never served are gone, and
     * their waiters would otherwise wait for a copy over their page, which never comes for a page
     * the checkpoint lacks (a zero page). With no waiters it does nothing.
     */
    private void wakeWaiters(LazyProcess p) throws IOException {
        for (Vma v : p.image.vmas()) {
            if (v.canBeLazy()) {
                p.uffd.wake(v.start(), v.length());
            }
        }
    }

    /** What this daemon counts; the page source adds where a fault's time went. */
    Stats stats() {
        return stats;
    }

    /** The first fault fetches' stages, at debug level. */
    FaultTimeline timeline() {
        return timeline;
    }

    /** The source failed for good (e.g. the server refused a page it should have): the daemon stops. */
    void fail(IOException e) {
        fatal = e;
    }

    private void loop() throws IOException {
        TransferScheduling.faultPath(log, "lazy-pages: uffd reader"); // a fault's first stop
        Poll poll = null;
        while (true) {
            if (fatal != null) {
                throw fatal;
            }
            List<LazyProcess> current;
            lock.lock();
            try {
                reapCompleted();
                if (processes.isEmpty() && tasksLeft <= 0) {
                    return;
                }
                current = new ArrayList<>(processes);
            } finally {
                lock.unlock();
            }
            if (poll == null || poll.size() != current.size() + 1) {
                poll = new Poll(current.size() + 1); // only when processes come or go, not per turn
            }
            for (int i = 0; i < current.size(); i++) {
                poll.set(i, current.get(i).uffd.fd(), Poll.POLLIN);
            }
            int restoreSlot = current.size();
            poll.set(restoreSlot, restore.isOpen() && !restoreFinished ? restore.fd() : -1, Poll.POLLIN);
            boolean syncBackground = !source.async() && backgroundActive();
            // An async source answers on another thread: wake up now and then to see retries and completion.
            int timeout = syncBackground ? 0 : !retryFaults.isEmpty() ? 1 : source.async() ? 20
                    : options.idleTimeoutSeconds() > 0 ? 100 : 1000;
            int ready = poll.poll(timeout);
            boolean faulted = false;
            if (ready > 0) {
                if (poll.ready(restoreSlot, (short) (Poll.POLLIN | Poll.POLLHUP | Poll.POLLERR))) {
                    onRestoreMessage();
                }
                for (int i = 0; i < restoreSlot; i++) {
                    if (poll.ready(i, (short) (Poll.POLLIN | Poll.POLLERR | Poll.POLLHUP))) {
                        faulted |= drain(current.get(i));
                    }
                }
            }
            // Only the retries queued before this turn: one that fails again waits for the events to be read.
            if (!retryFaults.isEmpty()) {
                FaultBatch batch = new FaultBatch(0);
                for (int n = retryFaults.size(); n > 0; n--) {
                    Retry r = retryFaults.poll();
                    serveFault(r.process(), r.page(), batch);
                }
                batch.send(source);
            }
            // A remote source: the turn's faults are asked for already (on their own connection), so
            // the background is topped up every turn and keeps its pace under a stream of faults. The
            // local one copies a chunk on this thread: only in a turn without faults.
            if (source.async()) {
                topUpBackground(options.chunksInFlight());
            } else if (!faulted) {
                topUpBackground(1);
            }
        }
    }

    /** Background transfer runs once restore finished, or in the seed's mode after an idle spell. */
    private boolean backgroundActive() {
        if (options.idleTimeoutSeconds() > 0) {
            return System.nanoTime() - lastFaultNanos > options.idleTimeoutSeconds() * 1_000_000_000L;
        }
        return restoreFinished;
    }

    private void onRestoreMessage() throws IOException {
        if (tasksLeft > 0) {
            readTask();
            return;
        }
        try {
            restore.readFinished();
            log.debug("lazy-pages: restore finished");
        } catch (EOFException e) {
            log.warn("lazy-pages: restore closed the connection before RESTORE_FINISHED; serving on");
            restoreDied = true;
        }
        restoreFinished = true;
    }

    /**
     * Reads and handles every queued message of one uffd; returns whether a fault was asked for.
     * The events of a batch are applied under the lock as they are read; its faults are served
     * after, against the layout the whole batch leaves.
     */
    private boolean drain(LazyProcess p) throws IOException {
        boolean faulted = false;
        while (true) {
            int faults = 0;
            long now;
            stats.lockWaited(lock.lock());
            try {
                if (p.gone || p.closed) {
                    break;
                }
                int n = messages.readFrom(p.uffd);
                if (n == 0) {
                    break;
                }
                now = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    UffdMessage m = messages.get(i);
                    if (m.isPageFault()) {
                        long page = m.pageFaultAddress() & -PAGE;
                        p.waits.started(page, now);
                        stats.faultMessage();
                        faultPages[faults++] = page;
                    } else {
                        onEvent(p, m);
                    }
                }
            } finally {
                lock.unlock();
            }
            timeline.batch(now, faults);
            // Every faulting page of the batch is asked for before any fault-around: with many
            // threads faulting at once, the last one's page does not wait behind the others' windows.
            FaultBatch batch = new FaultBatch(now);
            for (int i = 0; i < faults; i++) {
                serveFault(p, faultPages[i], batch);
                faulted = true;
            }
            batch.send(source);
        }
        return faulted;
    }

    private void onEvent(LazyProcess p, UffdMessage m) {
        if (m.isFork()) {
            LazyProcess child = p.forkChild(Userfaultfd.adopt(m.forkUffdDescriptor(), UffdHandoff.FEATURES));
            processes.add(child);
            log.debug("lazy-pages: process {} forked; the child shares {} missing bytes", p.imagePid, child.pending.bytes());
        } else if (m.isRemap()) {
            p.remap(m.remapFrom(), m.remapTo(), m.remapLength());
        } else if (m.isRemove() || m.isUnmap()) {
            p.drop(m.rangeStart(), m.rangeEnd());
        }
    }

    /**
     * The fetches a batch of faults asks for: each faulting page on its own, sent first, then the
     * rest of each fault's aligned window (fault-around), so a thread waits for its page only,
     * not for its window nor for the windows of the threads that faulted just before it.
     */
    private static final class FaultBatch {
        private final List<Fetch> faultPages = new ArrayList<>();
        private final List<Fetch> around = new ArrayList<>();
        /** When its fault messages were read (0: retries), for the stages of a fault. */
        private final long since;

        FaultBatch(long since) {
            this.since = since;
        }

        void send(PageSource source) throws IOException {
            for (Fetch f : faultPages) {
                source.fetch(f);
            }
            for (Fetch f : around) {
                source.fetch(f);
            }
        }
    }

    /**
     * Adds to {@code batch} the faulting page and the pending pages of its aligned window; a page
     * nobody has gets zeros.
     */
    private void serveFault(LazyProcess p, long page, FaultBatch batch) throws IOException {
        lastFaultNanos = System.nanoTime();
        stats.lockWaited(lock.lock());
        try {
            if (p.gone || p.closed) {
                return;
            }
            p.lastFault = page;
            long window = options.faultAroundBytes();
            long start = page & -window;
            Fetch inFlight = p.fetching(page);
            boolean covered = inFlight != null;
            if (inFlight != null && inFlight.kind == Stats.Kind.BACKGROUND && source.async()) {
                // A thread waits on a page of a background chunk in flight: it must not wait behind
                // the whole window, so it is asked for again, as a fault (whichever copy comes
                // first fills it; the other finds it there). With its window's share of the chunk.
                long from = Math.max(start, inFlight.start + inFlight.done);
                long to = Math.min(start + window, inFlight.end());
                PendingPages.Run again = new PendingPages.Run(from, to, inFlight.source + (from - inFlight.start));
                if (from <= page && page < to) {
                    split(p, again, page, batch);
                } else {
                    batch.faultPages.add(track(p, again, Stats.Kind.FAULT, page));
                    batch.faultPages.get(batch.faultPages.size() - 1).waitSince = batch.since;
                }
                stats.faultOnBackground();
            }
            for (PendingPages.Run r : p.pending.take(start, start + window)) {
                if (r.start() <= page && page < r.end()) {
                    covered = true;
                    split(p, r, page, batch);
                } else {
                    batch.around.add(track(p, r, Stats.Kind.FAULT_AROUND, -1));
                }
            }
            if (!covered) {
                zeroPage(p, page);
            }
        } finally {
            lock.unlock();
        }
    }

    /** The faulting page as a fetch of its own, the rest of its run as fault-around. Under the lock. */
    private void split(LazyProcess p, PendingPages.Run r, long page, FaultBatch batch) {
        Fetch f = track(p, new PendingPages.Run(page, page + PAGE, r.sourceOf(page)), Stats.Kind.FAULT, page);
        f.waitSince = batch.since;
        batch.faultPages.add(f);
        if (r.start() < page) {
            batch.around.add(track(p, new PendingPages.Run(r.start(), page, r.source()), Stats.Kind.FAULT_AROUND, -1));
        }
        if (page + PAGE < r.end()) {
            batch.around.add(track(p, new PendingPages.Run(page + PAGE, r.end(), r.sourceOf(page + PAGE)),
                    Stats.Kind.FAULT_AROUND, -1));
        }
    }

    /** A new fetch of {@code r}, counted in flight. Under the lock. */
    private static Fetch track(LazyProcess p, PendingPages.Run r, Stats.Kind kind, long faultPage) {
        Fetch f = new Fetch(p, r, kind, faultPage);
        p.inFlight.add(f);
        return f;
    }

    /** A fault on a page neither pending nor in flight: the checkpoint has no data there. Under the lock. */
    private void zeroPage(LazyProcess p, long page) throws IOException {
        long rc = p.uffd.zeropage(page, PAGE, 0);
        if (rc == -Errno.EEXIST) {
            p.waits.ended(page, page + PAGE, System.nanoTime(), stats);
            p.wake(page, PAGE);
        } else if (rc == -Errno.ESRCH || rc == -Errno.ENOSPC) {
            gone(p);
        } else if (rc == -Errno.EAGAIN) {
            retryFaults.add(new Retry(p, page));
        } else if (rc >= 0) {
            stats.zeroPage();
            p.waits.ended(page, page + PAGE, System.nanoTime(), stats);
            if (log.isDebugEnabled()) { // few per process; says which memory a crash found zero, if it was this
                log.debug("lazy-pages: process {}: zero page at 0x{} (not in the checkpoint)", p.imagePid,
                        Long.toHexString(page));
            }
        }
        // -ENOENT: nothing registered there any more (the event that says so is read or queued)
    }

    /**
     * The data of {@code f} arrived in {@code data} (its remaining bytes, in the order asked for):
     * copy it into the process piece by piece, each piece under the lock at the fetch's address of
     * that moment, handling the kernel's outcomes (CRIU-FACTS §3.6). Any thread. A background
     * fetch's pieces give way to the fault path: each waits until no fault-path thread is about to
     * take the lock.
     */
    void deliver(Fetch f, ByteBuffer data) throws IOException {
        long base = Buffers.address(data) + data.position();
        boolean background = f.kind == Stats.Kind.BACKGROUND;
        boolean more = true;
        while (more) {
            if (background) {
                lock.lockForBackground();
            } else {
                stats.lockWaited(lock.lock());
                if (f.lockedNanos == 0) {
                    f.lockedNanos = System.nanoTime();
                }
            }
            try {
                more = copyPiece(f, base);
            } finally {
                lock.unlock();
            }
        }
        if (f.kind == Stats.Kind.BACKGROUND && source.async() && backgroundActive()) {
            topUpBackground(options.chunksInFlight()); // its slot is free (a fault's receiver goes straight back to reading)
        }
    }

    /** One UFFDIO_COPY of the next piece of {@code f}; returns whether there is more to copy. Under the lock. */
    private boolean copyPiece(Fetch f, long base) throws IOException {
        LazyProcess p = f.process;
        if (f.dropped || p.gone || p.closed || f.done >= f.length) {
            finish(f);
            return false;
        }
        long at = f.start + f.done;
        long len = Math.min(f.length - f.done, f.piece);
        long rc = p.uffd.copy(at, base + f.done, len, 0);
        if (rc > 0) {
            stats.copied(f.kind, rc, f.faultPage >= at && f.faultPage < at + rc);
            long now = System.nanoTime();
            timeline.longWait(now, p.waits.ended(at, at + rc, now, stats), f);
            f.done += rc;
            f.piece = COPY_PIECE;
        } else if (rc == -Errno.EEXIST) {
            p.waits.ended(at, at + PAGE, System.nanoTime(), stats); // already there (a racing fill); anyone waiting on it may go on
            p.wake(at, PAGE);
            f.done += PAGE;
        } else if (rc == -Errno.EAGAIN) {
            // A layout change is queued: the pages go back to pending and the fault is retried
            // once the main loop has read it.
            p.pending.add(at, f.end(), f.source + f.done);
            if (f.faultPage >= at && f.faultPage < f.end()) {
                retryFaults.add(new Retry(p, f.faultPage));
            }
            f.dropped = true;
        } else if (rc == -Errno.ENOENT) {
            // With every event read, the piece crosses the end of a mapping (no event tells of
            // an mprotect splitting one): halve it down to one page; a page that is not there is skipped.
            if (len > PAGE) {
                f.piece = Math.max(PAGE, (len / 2) & -PAGE);
            } else {
                f.done += PAGE;
                f.piece = COPY_PIECE;
            }
        } else if (rc == -Errno.ESRCH || rc == -Errno.ENOSPC) {
            gone(p);
        } else {
            throw new IOException("UFFDIO_COPY at 0x" + Long.toHexString(at) + " returned " + rc);
        }
        return true;
    }

    /** Takes a fetch out of the in-flight bookkeeping, once. Under the lock. */
    private void finish(Fetch f) {
        if (f.finished) {
            return;
        }
        f.finished = true;
        f.process.inFlight.remove(f);
        if (f.kind == Stats.Kind.BACKGROUND) {
            backgroundInFlight--;
        }
    }

    /** Keeps up to {@code limit} background chunks in flight, nearest each process's last fault first. */
    private void topUpBackground(int limit) throws IOException {
        if (!backgroundActive()) {
            return;
        }
        while (true) {
            Fetch f = null;
            lock.lock();
            try {
                if (backgroundInFlight >= limit) {
                    return;
                }
                for (LazyProcess p : processes) {
                    PendingPages.Run next = p.gone ? null : p.pending.nextFrom(p.lastFault);
                    if (next != null) {
                        PendingPages.Run r = p.pending.take(next.start(),
                                Math.min(next.end(), next.start() + options.chunkBytes())).get(0);
                        f = new Fetch(p, r, Stats.Kind.BACKGROUND, -1);
                        p.inFlight.add(f);
                        p.lastFault = r.end();
                        backgroundInFlight++;
                        break;
                    }
                }
            } finally {
                lock.unlock();
            }
            if (f == null) {
                return;
            }
            source.fetch(f);
            if (!source.async()) {
                return; // one local chunk per round, so faults are looked at between chunks
            }
        }
    }

    private void reapCompleted() {
        for (LazyProcess p : new ArrayList<>(processes)) {
            if (p.gone || p.complete()) {
                processes.remove(p);
                if (!p.forkedChild) {
                    if (p.complete()) {
                        completed++;
                    } else {
                        goneIncomplete++;
                    }
                    // an exited one too: its guard (restore) waits for nothing more of it
                    restore.reportComplete(p.imagePid);
                    try {
                        source.processComplete(p.imagePid);
                    } catch (IOException e) {
                        log.warn("lazy-pages: could not tell the source process {} is complete: {}", p.imagePid, e.getMessage());
                    }
                }
                p.close();
                log.debug("lazy-pages: process {} {}", p.imagePid, p.gone ? "exited" : "has every page");
            }
        }
    }

    private void gone(LazyProcess p) {
        lock.lock();
        try {
            if (!p.gone) {
                log.info("lazy-pages: process {} exited", p.imagePid);
                p.gone = true;
            }
        } finally {
            lock.unlock();
        }
    }
}
