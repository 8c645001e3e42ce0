package io.lazymig.dump;

import io.lazymig.images.Rseq;
import io.lazymig.images.ThreadState;
import java.util.List;
import java.util.TreeSet;

/**
 * The pages of a process that are never lazy, as they are touched as soon as it runs again, by the
 * kernel or by its first instruction: a lazy one would cost a round trip to the source inside
 * restore or at the first tick. Per thread: the page under its stack pointer; its rseq area (the
 * injected rseq() reads it, and the kernel writes it on every return to user mode); and, for each
 * thread but the leader, the page of its clear_child_tid word, which restore's clone3 writes
 * (CLONE_PARENT_SETTID) — 100 threads' words lie on 100 stacks, one fault each, one after another.
 */
final class EagerPages {
    private EagerPages() {
    }

    /** The page addresses, ascending and distinct, of {@code threads} (the leader first). */
    static long[] of(List<ThreadState> threads, long pageSize) {
        TreeSet<Long> pages = new TreeSet<>();
        for (int i = 0; i < threads.size(); i++) {
            ThreadState t = threads.get(i);
            add(pages, t.registers().user().sp(), 1, pageSize);
            Rseq rseq = t.rseq();
            if (rseq.isRegistered()) {
                add(pages, rseq.abiPointer(), Math.max(1, rseq.abiSize()), pageSize);
            }
            if (i > 0 && t.clearTidAddress() != 0) {
                add(pages, t.clearTidAddress(), 4, pageSize);
            }
        }
        return pages.stream().mapToLong(Long::longValue).toArray();
    }

    /** The pages of [{@code address}, +{@code length}). */
    private static void add(TreeSet<Long> pages, long address, long length, long pageSize) {
        long last = (address + length - 1) & -pageSize;
        for (long page = address & -pageSize; Long.compareUnsigned(page, last) <= 0; page += pageSize) {
            pages.add(page);
        }
    }
}
