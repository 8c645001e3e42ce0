package io.lazymig.dump;

import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesWriter;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PageRanges;
import io.lazymig.images.Vma;
import io.lazymig.jni.Buffers;
import io.lazymig.jni.IoVecBatch;
import io.lazymig.jni.ProcessMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Streams the pages of a frozen process into pages-N.img: the pages its {@link PageWalker} finds
 * (CRIU's rules), nothing of shared mappings or the kernel's special areas. Pages of VMAs that can
 * be lazy are PE_LAZY|PE_PRESENT, except the {@link EagerPages} (each thread's stack pointer page,
 * its rseq area, its clear_child_tid word).
 * Data is read with process_vm_readv in large batches straight into a direct buffer and written
 * from there: no copy on the Java heap.
 */
final class PageCollector implements AutoCloseable {
    /** Bytes read per process_vm_readv batch and written per file write. */
    static final int BATCH_BYTES = 8 << 20;

    private final int pid;
    private final long pageSize;
    private final PageWalker walker;
    /** Pages never lazy, ascending ({@link EagerPages}). */
    private long[] eagerPages = new long[0];
    /** Shared by the collectors of one tree ({@link #forProcess}), which run one after another. */
    private final ByteBuffer buffer;
    private final IoVecBatch batch;

    private long pages;
    private long readNanos;
    private long writeNanos;

    /** The run being built: consecutive pages of one VMA with the same flags (runPages 0: none). */
    private long runStart;
    private long runPages;
    private int runFlags;

    /** dump --lazy-pages: lazy pages are recorded PE_LAZY only and their data is not written. */
    private final boolean lazyOnly;

    /** Pages shared copy-on-write with the parent (PE_COW, no data), and pages a child shares (never lazy). */
    private CowShares.Of shares = new CowShares.Of(PageRanges.NONE, PageRanges.NONE);
    private long cowPages;

    private PageCollector(int pid, long pageSize, PageWalker walker, boolean lazyOnly, ByteBuffer buffer,
            IoVecBatch batch) {
        this.lazyOnly = lazyOnly;
        this.pid = pid;
        this.pageSize = pageSize;
        this.walker = walker;
        this.buffer = buffer;
        this.batch = batch;
    }

    /** The collector of process {@code pid}'s pages, with its walker ({@link PageWalker#open}). */
    static PageCollector open(int pid, long pageSize, boolean lazyOnly) throws IOException {
        return new PageCollector(pid, pageSize, PageWalker.open(pid, pageSize), lazyOnly,
                Buffers.allocatePageAligned(BATCH_BYTES), new IoVecBatch(ProcessMemory.IOV_MAX));
    }

    /**
     * The collector of another process of the same tree, with a walker of its own and this one's
     * buffers: the tree's processes are collected one after another, inside the freeze, where a new
     * 8 MiB direct buffer took 30-150 ms here (zeroed pages the VM must first get back from its host).
     */
    PageCollector forProcess(int otherPid) throws IOException {
        buffer.clear();
        batch.clear();
        return new PageCollector(otherPid, pageSize, PageWalker.open(otherPid, pageSize), lazyOnly, buffer, batch);
    }

    /**
     * Writes the chosen pages of {@code vmas} to {@code out} and returns their pagemap; once. The
     * pages of {@code eager} (ascending page addresses, {@link EagerPages}) are never lazy.
     */
    Pagemap collect(List<Vma> vmas, long[] eager, Pagemap.Builder pagemap, PagesWriter out) throws IOException {
        eagerPages = eager.clone();
        for (Vma vma : vmas) {
            if (!PageWalker.walked(vma)) {
                continue;
            }
            walker.walk(vma, (start, end) -> dumpRange(vma, start, end, pagemap, out));
            endRun(pagemap, out);
        }
        flush(out);
        return pagemap.build();
    }

    /** The pages this process shares copy-on-write with its parent and its children ({@link CowShares}). */
    void share(CowShares.Of of) {
        this.shares = of;
    }

    /** Pages recorded PE_COW (the parent's). */
    long cowPages() {
        return cowPages;
    }

    /** How the pages are found ({@link PageWalker#name()}). */
    String walkerName() {
        return walker.name();
    }

    @Override
    public void close() throws IOException {
        walker.close();
    }

    long pages() {
        return pages;
    }

    /** Time spent in process_vm_readv. */
    long readNanos() {
        return readNanos;
    }

    /** Time spent writing pages-N.img. */
    long writeNanos() {
        return writeNanos;
    }

    /**
     * A run of dumped pages of {@code vma}: the pages shared with the parent PE_COW, those a child
     * shares eager, the rest as {@link #dumpOwn} says.
     */
    private void dumpRange(Vma vma, long start, long end, Pagemap.Builder pagemap, PagesWriter out)
            throws IOException {
        shares.cow().cut(start, end, (s, e, cow) -> {
            if (cow) {
                addPages(s, e, PagemapIov.PE_COW, pagemap, out);
                return;
            }
            shares.eager().cut(s, e, (s2, e2, eager) -> {
                if (eager) {
                    addPages(s2, e2, PagemapIov.PE_PRESENT, pagemap, out);
                } else {
                    dumpOwn(vma, s2, e2, pagemap, out);
                }
            });
        });
    }

    /** A run of pages of {@code vma} no other process shares: cut around the eager pages, which are never lazy. */
    private void dumpOwn(Vma vma, long start, long end, Pagemap.Builder pagemap, PagesWriter out)
            throws IOException {
        if (!vma.canBeLazy()) {
            addPages(start, end, PagemapIov.PE_PRESENT, pagemap, out);
            return;
        }
        int lazy = lazyOnly ? PagemapIov.PE_LAZY : PagemapIov.PE_LAZY | PagemapIov.PE_PRESENT;
        long at = start;
        int i = Arrays.binarySearch(eagerPages, start);
        for (i = i < 0 ? -i - 1 : i; i < eagerPages.length && eagerPages[i] < end; i++) {
            addPages(at, eagerPages[i], lazy, pagemap, out);
            addPages(eagerPages[i], eagerPages[i] + pageSize, PagemapIov.PE_PRESENT, pagemap, out);
            at = eagerPages[i] + pageSize;
        }
        addPages(at, end, lazy, pagemap, out);
    }

    /** Extends the current run with [start, end) when it continues it with the same flags, else starts a new one. */
    private void addPages(long start, long end, int flags, Pagemap.Builder pagemap, PagesWriter out)
            throws IOException {
        if (start >= end) {
            return;
        }
        if (runPages > 0 && (runStart + runPages * pageSize != start || runFlags != flags)) {
            endRun(pagemap, out);
        }
        if (runPages == 0) {
            runStart = start;
            runFlags = flags;
        }
        runPages += (end - start) / pageSize;
    }

    private void endRun(Pagemap.Builder pagemap, PagesWriter out) throws IOException {
        if (runPages > 0) {
            addRun(pagemap, out, runStart, Math.toIntExact(runPages), runFlags);
            runPages = 0;
        }
    }

    private void addRun(Pagemap.Builder pagemap, PagesWriter out, long vaddr, int nrPages, int flags)
            throws IOException {
        pagemap.add(vaddr, nrPages, flags);
        pages += nrPages;
        if ((flags & PagemapIov.PE_COW) != 0) {
            cowPages += nrPages;
        }
        if ((flags & PagemapIov.PE_PRESENT) == 0) {
            return; // served from the frozen process later, never written
        }
        long address = vaddr;
        long remaining = nrPages * pageSize;
        while (remaining > 0) {
            if (batch.size() == batch.capacity() || buffer.position() == buffer.capacity()) {
                flush(out);
            }
            long n = Math.min(remaining, buffer.capacity() - buffer.position());
            batch.add(Buffers.address(buffer) + buffer.position(), address, n);
            buffer.position(buffer.position() + (int) n);
            address += n;
            remaining -= n;
        }
    }

    /** Reads the batched ranges in one go and appends them to the pages file, in order. */
    private void flush(PagesWriter out) throws IOException {
        if (batch.size() == 0) {
            return;
        }
        long t0 = System.nanoTime();
        ProcessMemory.readv(pid, batch).check();
        long t1 = System.nanoTime();
        buffer.flip();
        out.append(buffer);
        writeNanos += System.nanoTime() - t1;
        readNanos += t1 - t0;
        buffer.clear();
        batch.clear();
    }
}
