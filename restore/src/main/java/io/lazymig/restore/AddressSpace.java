package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.FileLock;
import io.lazymig.images.ImageDir;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.PagesFile;
import io.lazymig.images.Rseq;
import io.lazymig.images.ThreadState;
import io.lazymig.images.Vma;
import io.lazymig.jni.Buffers;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.IoVecBatch;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.SharedMemory;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Rebuilds the checkpoint's address space inside the stub (KERNEL-FACTS §3.3): unmap the stub's
 * own mappings, map every VMA at its address (files opened inside the stub; a flock held through a
 * mapping taken again on the fd it is mapped from), write the eager pages with process_vm_writev
 * (VMAs mapped writable for it, then mprotect back).
 */
final class AddressSpace {
    /**
     * Bytes read from pages-N.img and written into the process per batch: 1 MiB, so the buffer
     * stays in cache between the read and the write (5-10 % faster than 8 MiB on this machine).
     */
    static final int BATCH_BYTES = 1 << 20;

    private final Stub stub;
    private final Checkpoint cp;
    private final ProcessImage process;
    private final boolean lazy;
    private final ShmemObjects shmems;
    /** Lazy pages restore writes all the same (see {@link #pagesWrittenAnyway}). */
    private final List<Long> anyway;
    /** The files whose flock a mapping holds, taken once each. */
    private final java.util.Set<String> locked = new java.util.HashSet<>();

    AddressSpace(Stub stub, Checkpoint cp, boolean lazy) {
        this(stub, cp, cp.root(), lazy);
    }

    /** The address space of {@code process}, one process of {@code cp}. */
    AddressSpace(Stub stub, Checkpoint cp, ProcessImage process, boolean lazy) {
        this(stub, cp, process, lazy, null);
    }

    /** The same; {@code shmems} holds the tree's shared memory objects its shared mappings map (null: none). */
    AddressSpace(Stub stub, Checkpoint cp, ProcessImage process, boolean lazy, ShmemObjects shmems) {
        this.shmems = shmems;
        this.stub = stub;
        this.cp = cp;
        this.process = process;
        this.lazy = lazy;
        this.anyway = pagesWrittenAnyway();
    }

    /**
     * The pages of every thread's rseq area, when lazy: the injected rseq() reads them inside the kernel
     * (KERNEL-FACTS §3.6), so a lazy one would make the last step of restore wait for a round trip
     * to the daemon (~10 ms with a daemon JVM that has not served a fault yet). Written now, they
     * never fault; the daemon's copy of them finds them present (EEXIST) and skips them.
     */
    private List<Long> pagesWrittenAnyway() {
        List<Long> pages = new ArrayList<>();
        for (ThreadState t : process.threads()) {
            Rseq rseq = t.rseq();
            if (!lazy || !rseq.isRegistered()) {
                continue;
            }
            long first = rseq.abiPointer() & -PagemapIov.PAGE_SIZE;
            long last = (rseq.abiPointer() + Math.max(1, rseq.abiSize()) - 1) & -PagemapIov.PAGE_SIZE;
            for (long page = first; page <= last; page += PagemapIov.PAGE_SIZE) {
                Optional<PagemapIov> iov = process.pagemap().find(page);
                if (iov.isPresent() && iov.get().isPresent() && !isEager(iov.get()) && !pages.contains(page)) {
                    pages.add(page);
                }
            }
        }
        return pages;
    }

    /** Whether restore writes this iov now (the rest is the lazy-pages daemon's). */
    boolean isEager(PagemapIov iov) {
        return iov.isPresent() && !(lazy && iov.isLazy());
    }

    /** Unmaps every stub mapping but the kept ranges and [vsyscall]. */
    void unmapStub(long[]... keep) throws IOException {
        for (Mapping m : Mapping.of(stub.pid())) {
            boolean kept = m.name().equals("[vsyscall]");
            for (long[] k : keep) {
                kept |= m.overlaps(k[0], k[1]);
            }
            if (!kept) {
                stub.call("munmap", Syscalls.MUNMAP, m.start(), m.length());
            }
        }
    }

    /** Maps every VMA but the kernel's special ones; returns those mapped writable only for the eager pages. */
    List<Vma> mapAll() throws IOException {
        List<Vma> raised = new ArrayList<>();
        for (Vma v : process.vmas()) {
            if (v.isSpecial()) {
                continue;
            }
            boolean writeNow = (v.prot() & Vma.PROT_WRITE) == 0 && hasEagerPages(v);
            map(v, writeNow);
            if (writeNow) {
                raised.add(v);
            }
        }
        return raised;
    }

    private void map(Vma v, boolean writeNow) throws IOException {
        int prot = v.prot() | (writeNow ? Vma.PROT_WRITE : 0);
        int flags = (v.flags() & (Vma.MAP_SHARED | Vma.MAP_PRIVATE | Vma.MAP_ANONYMOUS | Vma.MAP_GROWSDOWN
                | Vma.MAP_NORESERVE | Vma.MAP_LOCKED)) | Syscalls.MAP_FIXED;
        if (v.isShmem()) {
            mapShmem(v, prot, flags & ~Vma.MAP_ANONYMOUS);
        } else if (v.isFileBacked()) {
            boolean sharedWritable = (v.flags() & Vma.MAP_SHARED) != 0 && (v.prot() & Vma.PROT_WRITE) != 0;
            long fd = openFile(v.path(), sharedWritable ? FileDescriptor.O_RDWR : FileDescriptor.O_RDONLY);
            try {
                mapCall(v, "mmap", Syscalls.MMAP, v.start(), v.length(), prot, flags, fd, v.pgoff());
                Optional<FileLock> lock = cp.mappingLock(v.path()).filter(l -> l.pid() == process.pid());
                if (lock.isPresent() && locked.add(v.path())) {
                    FlockInjection.take(stub, fd, lock.get()); // held by the mapping's open file once fd is closed
                }
            } finally {
                stub.call("close", Syscalls.CLOSE, fd);
            }
        } else {
            mapCall(v, "mmap", Syscalls.MMAP, v.start(), v.length(), prot, flags, -1, 0);
        }
        for (int advice = 0; advice < 64; advice++) {
            if ((v.madv() >>> advice & 1) != 0) {
                mapCall(v, "madvise", Syscalls.MADVISE, v.start(), v.length(), advice);
            }
        }
    }

    /**
     * Maps shared memory object {@code v.shmid()} (made once for the tree by {@link ShmemObjects}) through
     * restore's fd: every process mapping it shares it. Opened read-write (a read-only mapping may be
     * made writable later by mprotect), unless a memfd's seals forbid writing and the mapping is
     * read-only (a writable one was made before F_SEAL_FUTURE_WRITE; the seals come after, {@link ShmemObjects#seal}).
     */
    private void mapShmem(Vma v, int prot, int flags) throws IOException {
        if (shmems == null) {
            throw new RestoreException("no shared memory objects for " + v);
        }
        int seals = cp.shmem(v.shmid()).seals();
        boolean readOnly = (seals & (SharedMemory.F_SEAL_WRITE | SharedMemory.F_SEAL_FUTURE_WRITE)) != 0
                && (v.prot() & Vma.PROT_WRITE) == 0;
        long fd = openFile(shmems.path(v.shmid()), readOnly ? FileDescriptor.O_RDONLY : FileDescriptor.O_RDWR);
        try {
            mapCall(v, "mmap", Syscalls.MMAP, v.start(), v.length(), prot, flags, fd, v.pgoff());
        } finally {
            stub.call("close", Syscalls.CLOSE, fd);
        }
    }

    /** An injected call for {@code v}; a failure names the VMA too. */
    private void mapCall(Vma v, String name, int nr, long... args) throws IOException {
        try {
            stub.call(name, nr, args);
        } catch (RestoreException e) {
            throw new RestoreException(e.getMessage() + " for " + v, e);
        }
    }

    /** Opens {@code path} inside the stub; a missing file is one clear line. */
    long openFile(String path, int flags) throws IOException {
        stub.resetScratch();
        long at = stub.putString(path);
        long fd = stub.raw(Syscalls.OPENAT, Syscalls.AT_FDCWD, at, flags | FileDescriptor.O_CLOEXEC, 0);
        if (Syscalls.isError(fd)) {
            throw new RestoreException("cannot open " + path + " for the restored process: "
                    + io.lazymig.jni.Errno.name(Syscalls.errno(fd)) + " (" + io.lazymig.jni.Errno.text(Syscalls.errno(fd)) + ")");
        }
        return fd;
    }

    /**
     * Writes the eager pages from pages-N.img; returns the bytes written. From {@link #SPLIT_BYTES}
     * on, two writers share the work, each with half of the bytes (in address order), its own
     * buffer and its own reads of the file: the copy is CPU-bound (page cache to buffer, buffer to
     * the process, first-touch faults there), and process_vm_writev needs neither a ptrace-stop nor
     * the tracer thread. (1 GiB here: median 734 ms with two, 898 ms with one.)
     */
    long writeEagerPages(Path dir) throws IOException {
        long eagerBytes = 0;
        for (PagemapIov iov : process.pagemap().iovs()) {
            if (isEager(iov)) {
                eagerBytes += iov.length();
            }
        }
        if (eagerBytes == 0 && anyway.isEmpty()) {
            return 0;
        }
        long split = eagerBytes >= SPLIT_BYTES ? (eagerBytes / 2) & -PagemapIov.PAGE_SIZE : Long.MAX_VALUE;
        try (PageWriter first = new PageWriter(dir); PageWriter second = new PageWriter(dir)) {
            long seen = 0;
            for (PagemapIov iov : process.pagemap().iovs()) {
                if (!isEager(iov)) {
                    continue;
                }
                long inFirst = Math.max(0, Math.min(iov.length(), split - seen));
                if (inFirst > 0) {
                    first.plan(iov.vaddr(), iov.pagesOffset(), inFirst);
                }
                if (inFirst < iov.length()) {
                    second.plan(iov.vaddr() + inFirst, iov.pagesOffset() + inFirst, iov.length() - inFirst);
                }
                seen += iov.length();
            }
            for (long page : anyway) {
                first.plan(page, process.pagemap().find(page).orElseThrow().fileOffset(page), PagemapIov.PAGE_SIZE);
            }
            if (second.isEmpty()) {
                return first.write();
            }
            second.startInBackground();
            long total = first.write();
            return total + second.awaitBackground();
        }
    }

    /** Eager bytes from which two writers share the work. */
    static final long SPLIT_BYTES = 64L << 20;

    /** Writes planned ranges (address, file offset, length) from pages-N.img into the process. */
    private final class PageWriter implements AutoCloseable {
        private final Path dir;
        private final List<long[]> planned = new ArrayList<>();
        private Thread thread;
        private long backgroundBytes;
        private Throwable backgroundFailure;

        PageWriter(Path dir) {
            this.dir = dir;
        }

        void plan(long address, long fileOffset, long length) {
            planned.add(new long[] {address, fileOffset, length});
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

        long write() throws IOException {
            long total = 0;
            ByteBuffer buf = Buffers.allocatePageAligned(BATCH_BYTES);
            IoVecBatch batch = new IoVecBatch(ProcessMemory.IOV_MAX);
            try (PagesFile pages = ImageDir.of(dir).openPages(process.pagemap().pagesId())) {
                long fileStart = -1;
                for (long[] r : planned) {
                    long addr = r[0];
                    long off = r[1];
                    long left = r[2];
                    while (left > 0) {
                        boolean contiguous = fileStart >= 0 && off == fileStart + buf.position();
                        if (batch.size() == batch.capacity() || buf.position() == buf.capacity()
                                || (!contiguous && batch.size() > 0)) {
                            total += flush(pages, fileStart, buf, batch);
                            fileStart = -1;
                        }
                        if (fileStart < 0) {
                            fileStart = off;
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
            }
        }

        /** Reads the batch's bytes (contiguous in the file from fileStart) and writes them to their addresses. */
        private long flush(PagesFile pages, long fileStart, ByteBuffer buf, IoVecBatch batch) throws IOException {
            if (batch.size() == 0) {
                return 0;
            }
            int len = buf.position();
            buf.flip();
            pages.read(fileStart, buf);
            ProcessMemory.writev(stub.pid(), batch).check();
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

    /** Puts back the protection of VMAs mapped writable only to receive their pages. */
    void protectBack(List<Vma> raised) throws IOException {
        for (Vma v : raised) {
            stub.call("mprotect", Syscalls.MPROTECT, v.start(), v.length(), v.prot());
        }
    }

    private boolean hasEagerPages(Vma v) {
        for (long page : anyway) {
            if (Long.compareUnsigned(page, v.start()) >= 0 && Long.compareUnsigned(page, v.end()) < 0) {
                return true;
            }
        }
        for (PagemapIov iov : process.pagemap().iovs()) {
            if (isEager(iov) && Long.compareUnsigned(iov.vaddr(), v.end()) < 0
                    && Long.compareUnsigned(v.start(), iov.end()) < 0) {
                return true;
            }
        }
        return false;
    }
}
