package io.lazymig.images;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;

/**
 * The core images of one process's threads, encoded on a helper thread while the dump goes on
 * (its fd table, carried files and pagemap: ~10 ms for a 100-thread process, with the other CPU
 * idle), and taken by whoever writes the checkpoint: {@link CoreCodec#encodeAll} of the very same
 * process state and thread states (the same objects: immutable, so the same bytes). The helper
 * encodes from the first thread on; a taker that comes before it is done encodes from the last
 * one back until they meet, then waits for the helper's last image. Inside migrate's downtime the
 * 109 images of a 100-thread process took 9.5-22 ms to encode after the frozen steps.
 *
 * <p>A few jobs are kept for their takers; an older one is dropped (its helper stops at its next
 * image) and its process's images are encoded when written, as without it.
 */
public final class CoreImagesAhead {
    /** The jobs not taken yet, the oldest first; guarded by the class. */
    private static final Deque<CoreImagesAhead> PENDING = new ArrayDeque<>();
    /** Jobs kept for their takers (a tree's processes, with room to spare). */
    static final int KEPT = 16;

    private final ProcessState process;
    private final List<ThreadState> threads;
    /** The images by thread; each slot written under this object's lock. */
    private final byte[][] images;
    /** The next thread the helper takes, and one past the last the taker may take; guarded by this. */
    private int front;
    private int back;
    /** The helper finished (or failed, or was dropped): it writes no slot after this; guarded by this. */
    private boolean helperDone;

    private CoreImagesAhead(ProcessState process, List<ThreadState> threads) {
        this.process = process;
        this.threads = List.copyOf(threads);
        this.images = new byte[this.threads.size()][];
        this.back = this.threads.size();
    }

    /**
     * The fewest threads encoded ahead: a few encode in well under a millisecond when written, and
     * a helper started for them costs the dump more than it saves (a tree of 4 one-thread
     * processes, one helper each beside the tracer and the tree's /proc reader: its files step
     * 2.6 -> 9.8 ms, medians of 6 migrations).
     */
    public static final int FROM = 16;

    /**
     * Starts encoding the core images of {@code threads} (the leader first) of {@code process} on a
     * daemon thread, from {@link #FROM} threads (fewer: nothing); {@link CoreCodec#encodeAll} of
     * the same objects takes them.
     */
    public static void start(ProcessState process, List<ThreadState> threads) {
        if (threads.size() < FROM) {
            return;
        }
        CoreImagesAhead job = new CoreImagesAhead(process, threads);
        CoreImagesAhead dropped = null;
        synchronized (CoreImagesAhead.class) {
            PENDING.addLast(job);
            if (PENDING.size() > KEPT) {
                dropped = PENDING.removeFirst();
            }
        }
        if (dropped != null) {
            dropped.stop();
        }
        Thread t = new Thread(job::encodeFromFront, "core-images-ahead");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The images of {@code threads} of {@code process} when a job was started for these very
     * objects (it is taken: a second call finds none), else null.
     */
    static List<byte[]> take(ProcessState process, List<ThreadState> threads) {
        CoreImagesAhead job = null;
        synchronized (CoreImagesAhead.class) {
            for (Iterator<CoreImagesAhead> it = PENDING.iterator(); it.hasNext(); ) {
                CoreImagesAhead j = it.next();
                if (j.isFor(process, threads)) {
                    it.remove();
                    job = j;
                    break;
                }
            }
        }
        return job == null ? null : job.finish();
    }

    /** Jobs waiting for their takers (for tests). */
    static synchronized int pending() {
        return PENDING.size();
    }

    private boolean isFor(ProcessState p, List<ThreadState> ts) {
        if (p != process || ts.size() != threads.size()) {
            return false;
        }
        for (int i = 0; i < ts.size(); i++) {
            if (ts.get(i) != threads.get(i)) {
                return false;
            }
        }
        return true;
    }

    /** The helper: one image after another from the first thread, until it meets the taker. */
    private void encodeFromFront() {
        CoreCodec.Shared shared = new CoreCodec.Shared(process);
        try {
            while (true) {
                int i;
                synchronized (this) {
                    if (front >= back) {
                        return;
                    }
                    i = front++;
                }
                byte[] b = CoreCodec.encodeBytes(process, threads.get(i), shared);
                synchronized (this) {
                    images[i] = b;
                }
            }
        } catch (RuntimeException | Error e) {
            // the taker encodes whatever is missing, and meets the failure itself if it is the state's
        } finally {
            synchronized (this) {
                helperDone = true;
                notifyAll();
            }
        }
    }

    /** Drops the job: its helper stops at its next image. */
    private synchronized void stop() {
        back = front;
    }

    /** The taker: from the last thread back to the helper, then the helper's last image awaited. */
    private List<byte[]> finish() {
        CoreCodec.Shared shared = new CoreCodec.Shared(process);
        while (true) {
            int i;
            synchronized (this) {
                if (back <= front) {
                    break;
                }
                i = --back;
            }
            byte[] b = CoreCodec.encodeBytes(process, threads.get(i), shared);
            synchronized (this) {
                images[i] = b;
            }
        }
        boolean interrupted = false;
        List<byte[]> out = new ArrayList<>(images.length);
        synchronized (this) {
            while (!helperDone) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true; // the helper ends on its own, within one image
                }
            }
            for (int i = 0; i < images.length; i++) {
                out.add(images[i]);
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i) == null) { // the helper failed on it (or a later one): encoded here
                out.set(i, CoreCodec.encodeBytes(process, threads.get(i), shared));
            }
        }
        return out;
    }
}
