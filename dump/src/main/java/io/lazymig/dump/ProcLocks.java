package io.lazymig.dump;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The lines of /proc/locks, read once per dump on a thread of its own, started as soon as the
 * tree is frozen (no lock can be taken or dropped by it after that). The kernel lists the locks
 * under percpu_down_write(&file_rwsem): a reader waits for an RCU grace period unless another
 * read has just done so, 11-25 ms measured here for the first read of a process, 0.03 ms for the
 * next. Read on the tracer thread, that wait was inside the freeze (the "files" step); on its own
 * thread it passes while the tracer injects and reads the rest. Holds no fd: the read is whole.
 */
final class ProcLocks {
    private static final Path PROC_LOCKS = Path.of("/proc/locks");

    private final CompletableFuture<List<String>> lines;

    private ProcLocks(CompletableFuture<List<String>> lines) {
        this.lines = lines;
    }

    /** Starts reading /proc/locks now, on a daemon thread of its own. */
    static ProcLocks start() {
        CompletableFuture<List<String>> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(ProcText.lines(PROC_LOCKS));
            } catch (IOException | RuntimeException e) {
                f.completeExceptionally(e);
            }
        }, "proc-locks");
        t.setDaemon(true);
        t.start();
        return new ProcLocks(f);
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
