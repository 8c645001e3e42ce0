package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.FileLock;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.PageRanges;
import io.lazymig.images.Rseq;
import io.lazymig.images.ThreadState;
import io.lazymig.images.Vma;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Memory;
import io.lazymig.jni.SharedMemory;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
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
    /** A tree's pages shared copy-on-write: the VMAs this stub inherited and keeps, its pages right in them. */
    private CowTree cow;
    private List<Vma> kept = List.of();
    private PageRanges inPlace = PageRanges.NONE;
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

    /**
     * The VMAs this process's stub inherited from its parent's by the fork, with the pages they
     * share copy-on-write ({@link CowTree}): kept as they are, not mapped again.
     */
    void inherit(CowTree tree) {
        this.cow = tree;
        this.kept = tree.kept(process.pid());
        this.inPlace = tree.inPlace(process.pid());
    }

    /**
     * The munmap calls of every stub mapping but the kept ranges, the inherited VMAs (exactly) and
     * [vsyscall]: independent of each other, for a run ({@link SyscallRun}) with the tree's others.
     */
    List<SyscallRun.Call> unmapStubCalls(long[]... keep) throws IOException {
        List<SyscallRun.Call> calls = new ArrayList<>();
        for (Mapping m : Mapping.of(stub.pid())) {
            boolean whole = m.name().equals("[vsyscall]");
            for (long[] k : keep) {
                whole |= m.overlaps(k[0], k[1]);
            }
            if (whole) {
                continue;
            }
            long at = m.start();
            for (Vma v : kept) { // sorted by address, as the checkpoint lists them
                if (m.overlaps(v.start(), v.end())) {
                    if (Long.compareUnsigned(at, v.start()) < 0) {
                        calls.add(new SyscallRun.Call(Syscalls.MUNMAP, at, v.start() - at));
                    }
                    at = Long.compareUnsigned(v.end(), at) > 0 ? v.end() : at;
                }
            }
            if (Long.compareUnsigned(at, m.end()) < 0) {
                calls.add(new SyscallRun.Call(Syscalls.MUNMAP, at, m.end() - at));
            }
        }
        return calls;
    }

    /** Drops what the inherited VMAs hold that is not this process's (its parent's own pages), before its pages go in. */
    void dropNotOwn() throws IOException {
        for (Vma v : kept) {
            inPlace.cut(v.start(), v.end(), (s, e, own) -> {
                if (!own) {
                    mapCall(v, "madvise(MADV_DONTNEED)", Syscalls.MADVISE, s, e - s, Memory.MADV_DONTNEED);
                }
            });
        }
    }

    private boolean isKept(Vma v) {
        for (Vma k : kept) {
            if (k.start() == v.start()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Maps every VMA but the kernel's special ones and the anonymous ones, which go to {@code anon}
     * instead (their mmap and madvise calls, for runs the process makes itself with the tree's other
     * processes: {@link SyscallRun#runAcross}; a thread's stack and guard page are two each, 200 in
     * a process with 100 threads); returns those mapped writable only for the eager pages. The
     * checkpoint's VMAs do not overlap one another nor what the stub keeps, so the order in which
     * they are mapped does not matter.
     */
    List<Vma> mapAll(AnonCalls anon) throws IOException {
        return mapAll(anon, null);
    }

    /**
     * As {@link #mapAll(AnonCalls)}, the file-backed and shared memory VMAs too going to {@code files}
     * (null: mapped here, one injection per open, mmap and close) for {@link FileMapRun}, but those of a
     * file whose flock a mapping holds (taken here, on the fd it maps).
     */
    List<Vma> mapAll(AnonCalls anon, List<FileMap> files) throws IOException {
        List<Vma> raised = new ArrayList<>();
        for (Vma v : process.vmas()) {
            if (v.isSpecial()) {
                continue;
            }
            boolean writeNow = (v.prot() & Vma.PROT_WRITE) == 0 && hasEagerPages(v);
            if (isKept(v)) {
                if (writeNow) {
                    mapCall(v, "mprotect", Syscalls.MPROTECT, v.start(), v.length(), v.prot() | Vma.PROT_WRITE);
                }
                advise(v);
            } else if (!v.isShmem() && !v.isFileBacked()) {
                anon.add(v, new SyscallRun.Call(Syscalls.MMAP, v.start(), v.length(), prot(v, writeNow), flags(v), -1, 0));
                for (int advice : advice(v)) {
                    anon.add(v, new SyscallRun.Call(Syscalls.MADVISE, v.start(), v.length(), advice));
                }
            } else if (files != null && !holdsLock(v)) {
                files.add(fileMap(v, writeNow));
            } else {
                map(v, writeNow);
            }
            if (writeNow) {
                raised.add(v);
            }
        }
        return raised;
    }

    /** The calls that map a process's anonymous VMAs, with the VMA each is for (for an error). */
    static final class AnonCalls {
        final List<SyscallRun.Call> calls = new ArrayList<>();
        final List<Vma> vmas = new ArrayList<>();

        void add(Vma v, SyscallRun.Call c) {
            calls.add(c);
            vmas.add(v);
        }
    }

    private static int prot(Vma v, boolean writeNow) {
        return v.prot() | (writeNow ? Vma.PROT_WRITE : 0);
    }

    private static int flags(Vma v) {
        return (v.flags() & (Vma.MAP_SHARED | Vma.MAP_PRIVATE | Vma.MAP_ANONYMOUS | Vma.MAP_GROWSDOWN
                | Vma.MAP_NORESERVE | Vma.MAP_LOCKED)) | Syscalls.MAP_FIXED;
    }

    /** The madvise advice numbers {@code v} carries, in order. */
    private static List<Integer> advice(Vma v) {
        List<Integer> out = new ArrayList<>();
        for (int advice = 0; advice < 64; advice++) {
            if ((v.madv() >>> advice & 1) != 0) {
                out.add(advice);
            }
        }
        return out;
    }

    /**
     * A file-backed or shared memory VMA to map by {@link FileMapRun}: the file to open in the process
     * (its open flags), then the mmap of it and the VMA's advice.
     */
    record FileMap(Vma vma, String path, int openFlags, SyscallRun.Call mmap, List<Integer> advice) {
    }

    private boolean holdsLock(Vma v) {
        return v.isFileBacked() && !v.isShmem() && cp.mappingLock(v.path()).filter(l -> l.pid() == process.pid()).isPresent();
    }

    /** {@code v} as {@link #map} maps it, for a run; the mmap's fd argument is filled in once the file is open. */
    private FileMap fileMap(Vma v, boolean writeNow) throws IOException {
        int prot = prot(v, writeNow);
        int flags = flags(v);
        String path;
        int open;
        if (v.isShmem()) {
            if (shmems == null) {
                throw new RestoreException("no shared memory objects for " + v);
            }
            int seals = cp.shmem(v.shmid()).seals();
            boolean readOnly = (seals & (SharedMemory.F_SEAL_WRITE | SharedMemory.F_SEAL_FUTURE_WRITE)) != 0
                    && (v.prot() & Vma.PROT_WRITE) == 0;
            path = shmems.path(v.shmid());
            open = readOnly ? FileDescriptor.O_RDONLY : FileDescriptor.O_RDWR;
            flags &= ~Vma.MAP_ANONYMOUS;
        } else {
            boolean sharedWritable = (v.flags() & Vma.MAP_SHARED) != 0 && (v.prot() & Vma.PROT_WRITE) != 0;
            path = v.path();
            open = sharedWritable ? FileDescriptor.O_RDWR : FileDescriptor.O_RDONLY;
        }
        return new FileMap(v, path, open | FileDescriptor.O_CLOEXEC,
                new SyscallRun.Call(Syscalls.MMAP, v.start(), v.length(), prot, flags, -1, v.pgoff()), advice(v));
    }

    private void map(Vma v, boolean writeNow) throws IOException {
        int prot = prot(v, writeNow);
        int flags = flags(v);
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
        advise(v);
    }

    private void advise(Vma v) throws IOException {
        for (int advice : advice(v)) {
            mapCall(v, "madvise", Syscalls.MADVISE, v.start(), v.length(), advice);
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
        List<long[]> pieces = new ArrayList<>();
        CowTree.Planner planner = (address, pagesId, fileOffset, length) -> pieces.add(new long[] {address, pagesId,
                fileOffset, length});
        long eagerBytes = 0;
        int pagesId = process.pagemap().pagesId();
        for (PagemapIov iov : process.pagemap().iovs()) {
            if (isEager(iov)) {
                inPlace.cut(iov.vaddr(), iov.end(), (s, e, already) -> {
                    if (!already) {
                        planner.plan(s, pagesId, iov.fileOffset(s), e - s);
                    }
                });
            } else if (iov.isCow()) {
                // not inherited by the fork (its parent's VMA could not be mapped early): a copy of the parent's
                inPlace.cut(iov.vaddr(), iov.end(), (s, e, already) -> {
                    if (!already) {
                        copyOfParents(iov, s, e, planner);
                    }
                });
            }
        }
        for (long[] piece : pieces) {
            eagerBytes += piece[3];
        }
        if (eagerBytes == 0 && anyway.isEmpty()) {
            return 0;
        }
        long split = eagerBytes >= SPLIT_BYTES ? (eagerBytes / 2) & -PagemapIov.PAGE_SIZE : Long.MAX_VALUE;
        try (PageCopy first = new PageCopy(stub.pid(), dir); PageCopy second = new PageCopy(stub.pid(), dir)) {
            long seen = 0;
            for (long[] piece : pieces) {
                long inFirst = Math.max(0, Math.min(piece[3], split - seen));
                if (inFirst > 0) {
                    first.plan(piece[0], (int) piece[1], piece[2], inFirst);
                }
                if (inFirst < piece[3]) {
                    second.plan(piece[0] + inFirst, (int) piece[1], piece[2] + inFirst, piece[3] - inFirst);
                }
                seen += piece[3];
            }
            for (long page : anyway) {
                first.plan(page, pagesId, process.pagemap().find(page).orElseThrow().fileOffset(page),
                        PagemapIov.PAGE_SIZE);
            }
            if (second.isEmpty()) {
                return first.write();
            }
            second.startInBackground();
            long total = first.write();
            return total + second.awaitBackground();
        }
    }

    /** Plans the parent's data of this process's copy-on-write pages [start, end) of {@code iov}. */
    private void copyOfParents(PagemapIov iov, long start, long end, CowTree.Planner planner) throws IOException {
        if (cow == null) {
            throw new RestoreException("process " + process.pid() + ": " + iov + " is copy-on-write from its parent, "
                    + "and restore has no tree to take it from");
        }
        cow.resolve(process, start, end, planner);
    }

    /** Eager bytes from which two writers share the work. */
    static final long SPLIT_BYTES = 64L << 20;

    /** The mprotect calls that put back the protection of VMAs mapped writable only to receive their pages. */
    static List<SyscallRun.Call> protectBackCalls(List<Vma> raised) {
        List<SyscallRun.Call> calls = new ArrayList<>();
        for (Vma v : raised) {
            calls.add(new SyscallRun.Call(Syscalls.MPROTECT, v.start(), v.length(), v.prot()));
        }
        return calls;
    }

    private boolean hasEagerPages(Vma v) {
        for (long page : anyway) {
            if (Long.compareUnsigned(page, v.start()) >= 0 && Long.compareUnsigned(page, v.end()) < 0) {
                return true;
            }
        }
        for (PagemapIov iov : process.pagemap().iovs()) {
            if ((isEager(iov) || iov.isCow()) && Long.compareUnsigned(iov.vaddr(), v.end()) < 0
                    && Long.compareUnsigned(v.start(), iov.end()) < 0) {
                return true;
            }
        }
        return false;
    }
}
