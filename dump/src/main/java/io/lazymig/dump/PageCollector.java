package io.lazymig.dump;

import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesWriter;
import io.lazymig.images.Pagemap;
import io.lazymig.images.Vma;
import io.lazymig.jni.Buffers;
import io.lazymig.jni.IoVecBatch;
import io.lazymig.jni.ProcessMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Chooses the pages of a frozen process to dump and streams them into pages-N.img, CRIU's rules
 * (KERNEL-FACTS §2, CRIU-FACTS §1.5): in anonymous private VMAs every present or swapped page
 * except those mapping the shared zero page; in private file VMAs only the copy-on-write ones
 * (present and not file-backed); nothing of shared mappings or the kernel's special areas.
 * Pages of VMAs that can be lazy are PE_LAZY|PE_PRESENT, except the page under the stack pointer.
 * Data is read with process_vm_readv in large batches straight into a direct buffer and written
 * from there: no copy on the Java heap.
 */
final class PageCollector {
    /** Bytes read per process_vm_readv batch and written per file write. */
    static final int BATCH_BYTES = 8 << 20;

    private final int pid;
    private final long pageSize;
    private final long zeroPfn;
    private final long stackPointerPage;
    private final ByteBuffer buffer = Buffers.allocatePageAligned(BATCH_BYTES);
    private final IoVecBatch batch = new IoVecBatch(ProcessMemory.IOV_MAX);

    private long pages;

    /** dump --lazy-pages: lazy pages are recorded PE_LAZY only and their data is not written. */
    private final boolean lazyOnly;

    PageCollector(int pid, long pageSize, long zeroPfn, long stackPointer, boolean lazyOnly) {
        this.lazyOnly = lazyOnly;
        this.pid = pid;
        this.pageSize = pageSize;
        this.zeroPfn = zeroPfn;
        this.stackPointerPage = stackPointer & -pageSize;
    }

    /** Writes the chosen pages of {@code vmas} to {@code out} and returns their pagemap. */
    Pagemap collect(List<Vma> vmas, Pagemap.Builder pagemap, PagesWriter out) throws IOException {
        try (ProcPagemap procPagemap = new ProcPagemap(pid, pageSize)) {
            for (Vma vma : vmas) {
                if (vma.isSpecial() || (vma.flags() & Vma.MAP_SHARED) != 0) {
                    continue;
                }
                long[] entries = procPagemap.read(vma.start(), vma.end());
                int runStart = -1;
                int runFlags = 0;
                for (int i = 0; i <= entries.length; i++) {
                    int flags = i == entries.length ? 0 : pageFlags(vma, vma.start() + i * pageSize, entries[i]);
                    if (runStart >= 0 && flags != runFlags) {
                        addRun(pagemap, out, vma.start() + runStart * pageSize, i - runStart, runFlags);
                        runStart = -1;
                    }
                    if (runStart < 0 && flags != 0) {
                        runStart = i;
                        runFlags = flags;
                    }
                }
            }
            flush(out);
        }
        return pagemap.build();
    }

    long pages() {
        return pages;
    }

    /** 0 when the page is not dumped, else its PE_* flags. */
    int pageFlags(Vma vma, long address, long entry) {
        boolean present = ProcPagemap.present(entry);
        boolean dumped;
        if (vma.isFileBacked()) {
            dumped = present && !ProcPagemap.fileOrShared(entry);
        } else {
            boolean zero = present && zeroPfn != 0 && ProcPagemap.pfn(entry) == zeroPfn;
            dumped = (present && !zero) || ProcPagemap.swapped(entry);
        }
        if (!dumped) {
            return 0;
        }
        boolean lazy = vma.canBeLazy() && address != stackPointerPage;
        if (!lazy) {
            return PagemapIov.PE_PRESENT;
        }
        return lazyOnly ? PagemapIov.PE_LAZY : PagemapIov.PE_LAZY | PagemapIov.PE_PRESENT;
    }

    private void addRun(Pagemap.Builder pagemap, PagesWriter out, long vaddr, int nrPages, int flags)
            throws IOException {
        pagemap.add(vaddr, nrPages, flags);
        pages += nrPages;
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
        ProcessMemory.readv(pid, batch).check();
        buffer.flip();
        out.append(buffer);
        buffer.clear();
        batch.clear();
    }
}
