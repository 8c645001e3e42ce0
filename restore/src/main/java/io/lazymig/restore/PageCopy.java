package io.lazymig.restore;

import io.lazymig.images.ImageDir;
import io.lazymig.images.PagesFile;
import io.lazymig.jni.Buffers;
import io.lazymig.jni.IoVecBatch;
import io.lazymig.jni.ProcessMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes planned ranges (address, pages-N.img and offset, length) from the image directory into a
 * process with process_vm_writev, in batches of {@link AddressSpace#BATCH_BYTES}; on the calling
 * thread or on one of its own. A range may come from another process's pages file: a child's
 * pages shared copy-on-write are its parent's.
 */
final class PageCopy implements AutoCloseable, CowTree.Planner {
    private final int pid;
    private final Path dir;
    private final List<long[]> planned = new ArrayList<>();
    private Thread thread;
    private long backgroundBytes;
    private Throwable backgroundFailure;

    PageCopy(int pid, Path dir) {
        this.pid = pid;
        this.dir = dir;
    }

    @Override
    public void plan(long address, int pagesId, long fileOffset, long length) {
        planned.add(new long[] {address, pagesId, fileOffset, length});
    }

    boolean isEmpty() {
        return planned.isEmpty();
    }

    void startInBackground() {
        thread = new Thread(this::runInBackground, "restore-pages");
        thread.setDaemon(true);
        thread.start();
    }

    private void runInBackground() {
        try {
            backgroundBytes = write();
        } catch (Throwable e) {
            backgroundFailure = e;
        }
    }

    long awaitBackground() throws IOException {
        join();
        if (backgroundFailure instanceof IOException e) {
            throw e;
        }
        if (backgroundFailure instanceof RuntimeException e) {
            throw e;
        }
        if (backgroundFailure instanceof Error e) {
            throw e;
        }
        return backgroundBytes;
    }

    private void join() {
        boolean interrupted = false;
        while (thread != null && thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Writes every planned range; returns the bytes written. */
    long write() throws IOException {
        long total = 0;
        long planBytes = 0;
        for (long[] r : planned) {
            planBytes += r[3];
        }
        // no larger than what is planned: each page of a fresh buffer is zeroed, a first touch
        // (~2-10 us a page on a VM), and a process's eager pages are often a few stack pages
        // (make bench's tick: ~60 KiB, where 1 MiB cost 0.5-0.8 ms a process)
        ByteBuffer buf = Buffers.allocatePageAligned((int) Math.min(AddressSpace.BATCH_BYTES, planBytes));
        IoVecBatch batch = new IoVecBatch(ProcessMemory.IOV_MAX);
        Map<Integer, PagesFile> files = new HashMap<>();
        try {
            PagesFile pages = null;
            long fileStart = -1;
            for (long[] r : planned) {
                long addr = r[0];
                PagesFile from = files.get((int) r[1]);
                if (from == null) {
                    from = ImageDir.of(dir).openPages((int) r[1]);
                    files.put((int) r[1], from);
                }
                long off = r[2];
                long left = r[3];
                while (left > 0) {
                    boolean contiguous = from == pages && fileStart >= 0 && off == fileStart + buf.position();
                    if (batch.size() == batch.capacity() || buf.position() == buf.capacity()
                            || (!contiguous && batch.size() > 0)) {
                        total += flush(pages, fileStart, buf, batch);
                        fileStart = -1;
                    }
                    if (fileStart < 0) {
                        fileStart = off;
                        pages = from;
                    }
                    int n = (int) Math.min(left, buf.capacity() - buf.position());
                    batch.add(Buffers.address(buf) + buf.position(), addr, n);
                    buf.position(buf.position() + n);
                    addr += n;
                    off += n;
                    left -= n;
                }
            }
            return total + flush(pages, fileStart, buf, batch);
        } finally {
            for (PagesFile f : files.values()) {
                f.close();
            }
        }
    }

    /** Reads the batch's bytes (contiguous in {@code pages} from fileStart) and writes them to their addresses. */
    private long flush(PagesFile pages, long fileStart, ByteBuffer buf, IoVecBatch batch) throws IOException {
        if (batch.size() == 0) {
            return 0;
        }
        int len = buf.position();
        buf.flip();
        pages.read(fileStart, buf);
        ProcessMemory.writev(pid, batch).check();
        buf.clear();
        batch.clear();
        return len;
    }

    /** Never returns while its thread still writes (a failure of the other writer must not race it). */
    @Override
    public void close() {
        join();
    }
}
