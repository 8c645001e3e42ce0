package io.lazymig.dump;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;

/**
 * The lines of /proc/locks, read once per dump on a thread of its own, told to read as soon as the
 * tree is frozen (no lock can be taken or dropped by it after that). The kernel lists the locks
 * under percpu_down_write(&file_rwsem): a reader waits for an RCU grace period unless another
 * read has just done so, 11-25 ms measured here for the first read of a process, 0.03 ms for the
 * next. Read on the tracer thread, that wait was inside the freeze (the "files" step); on its own
 * thread it passes while the tracer injects and reads the rest. The thread is started before the
 * freeze ({@link #prepare}): started inside it, its start took 0.15-3.8 ms of the freeze in make
 * bench. Holds no fd: the read is whole.
 */
final class ProcLocks implements AutoCloseable {
    private static final Path PROC_LOCKS = Path.of("/proc/locks");

    private final CompletableFuture<List<String>> lines = new CompletableFuture<>();
    private final CountDownLatch told = new CountDownLatch(1);
    /** Closed before it was told to read: the thread ends without reading. */
    private volatile boolean abandoned;

    private ProcLocks() {
    }

    /** Starts the reading thread, which reads once {@link #read} is called (or ends at {@link #close}). */
    static ProcLocks prepare() {
        ProcLocks p = new ProcLocks();
        Thread t = new Thread(p::readWhenTold, "proc-locks");
        t.setDaemon(true);
        t.start();
        return p;
    }

    /** Reads /proc/locks now, on a daemon thread of its own. */
    static ProcLocks start() {
        ProcLocks p = prepare();
        p.read();
        return p;
    }

    /** Tells the thread to read now (the tree is frozen). */
    void read() {
        told.countDown();
    }

    private void readWhenTold() {
        try {
            told.await();
        } catch (InterruptedException e) {
            lines.completeExceptionally(new IOException("interrupted before reading " + PROC_LOCKS, e));
            return;
        }
        if (abandoned) {
            lines.completeExceptionally(new IOException(PROC_LOCKS + " not read: the dump ended first"));
            return;
        }
        try {
            lines.complete(ProcText.lines(PROC_LOCKS));
        } catch (IOException | RuntimeException e) {
            lines.completeExceptionally(e);
        }
    }

    /** Ends the thread if it was never told to read (a dump that failed before its freeze). */
    @Override
    public void close() {
        if (told.getCount() > 0) {
            abandoned = true;
            told.countDown();
        }
    }

    /** The lines, waiting for the read if it has not finished; its failure is this call's. */
    List<String> lines() throws IOException {
        try {
            return lines.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading " + PROC_LOCKS, e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof UncheckedIOException u) {
                throw u.getCause();
            }
            throw new IOException("cannot read " + PROC_LOCKS + ": " + c, c);
        }
    }
}
