package io.lazymig.images;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One process of a checkpoint: its process-wide {@link ProcessState}, its threads (the leader,
 * whose tid is the pid, first), its address space (VMAs and pagemap; the page data lives in
 * {@code pages-<pagemap.pagesId>.img}) and its fd table, whose slots point at the checkpoint's
 * file table.
 *
 * <p>Invariants: VMAs sorted and disjoint; every pagemap iov inside VMAs; PE_LAZY only in VMAs that
 * {@link Vma#canBeLazy() can be lazy}; tids unique, leader first; a POSIX timer that signals one
 * thread signals one of these; fd numbers unique and ascending.
 */
public record ProcessImage(ProcessState state, List<ThreadState> threads, List<Vma> vmas, Pagemap pagemap,
        List<FdSlot> fds) {
    public ProcessImage {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(pagemap, "pagemap");
        threads = List.copyOf(threads);
        vmas = List.copyOf(vmas);
        fds = List.copyOf(fds);
        if (threads.isEmpty() || threads.get(0).tid() != state.pid()) {
            throw new IllegalArgumentException("process " + state.pid() + ": the first thread must be the leader (tid "
                    + state.pid() + "), threads are " + threads.stream().map(ThreadState::tid).toList());
        }
        Set<Integer> tids = new HashSet<>();
        for (ThreadState t : threads) {
            if (!tids.add(t.tid())) {
                throw new IllegalArgumentException("process " + state.pid() + ": thread " + t.tid() + " listed twice");
            }
        }
        for (PosixTimer t : state.timers().posix()) {
            if (t.isThreadTargeted() && !tids.contains(t.notifyTid())) {
                throw new IllegalArgumentException("process " + state.pid() + ": POSIX timer " + t.id()
                        + " signals thread " + t.notifyTid() + ", which is not one of its threads");
            }
        }
        checkVmas(vmas);
        checkPagemap(vmas, pagemap);
        for (int i = 1; i < fds.size(); i++) {
            if (fds.get(i).fd() == fds.get(i - 1).fd()) {
                throw new IllegalArgumentException("fd " + fds.get(i).fd() + " listed twice");
            }
            if (fds.get(i).fd() < fds.get(i - 1).fd()) {
                throw new IllegalArgumentException("fd " + fds.get(i).fd() + " listed after fd " + fds.get(i - 1).fd()
                        + " (fds ascend)");
            }
        }
    }

    public int pid() {
        return state.pid();
    }

    /** The thread-group leader (tid = pid). */
    public ThreadState leader() {
        return threads.get(0);
    }

    /** The VMA holding {@code address}, if any. */
    public Optional<Vma> vmaAt(long address) {
        int low = 0;
        int high = vmas.size() - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            Vma v = vmas.get(mid);
            if (Long.compareUnsigned(address, v.start()) < 0) {
                high = mid - 1;
            } else if (Long.compareUnsigned(address, v.end()) >= 0) {
                low = mid + 1;
            } else {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }

    static void checkVmas(List<Vma> vmas) {
        for (int i = 1; i < vmas.size(); i++) {
            if (Long.compareUnsigned(vmas.get(i).start(), vmas.get(i - 1).end()) < 0) {
                throw new IllegalArgumentException(vmas.get(i) + " overlaps or precedes " + vmas.get(i - 1)
                        + " (VMAs must be sorted and disjoint)");
            }
        }
    }

    /** Every iov must lie in VMAs (it may span adjacent ones), and PE_LAZY ones only in lazy-capable VMAs. */
    static void checkPagemap(List<Vma> vmas, Pagemap pagemap) {
        int v = 0;
        for (PagemapIov iov : pagemap.iovs()) {
            long at = iov.vaddr();
            while (Long.compareUnsigned(at, iov.end()) < 0) {
                while (v < vmas.size() && Long.compareUnsigned(vmas.get(v).end(), at) <= 0) {
                    v++;
                }
                if (v == vmas.size() || !vmas.get(v).contains(at)) {
                    throw new IllegalArgumentException(iov + ": page 0x" + Long.toHexString(at) + " is in no VMA");
                }
                Vma vma = vmas.get(v);
                if (vma.isShmem()) {
                    throw new IllegalArgumentException(iov + " lies in " + vma
                            + ": shared memory's pages are its object's (pagemap-shmem), not a process's");
                }
                if (iov.isLazy() && !vma.canBeLazy()) {
                    throw new IllegalArgumentException(iov + " is PE_LAZY inside " + vma + ", which cannot be lazy");
                }
                at = vma.end();
                if (at == 0) {
                    break; // a VMA ending at the top of the address space
                }
            }
        }
    }
}
