package io.lazymig.dump;

import io.lazymig.images.MmInfo;

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
 * Per process: its arguments and environment (mm's arg and env ranges), which others read the
 * moment it runs (ps, /proc/PID/cmdline and environ, a supervisor checking what runs): such a
 * remote read cannot wait for the daemon (the kernel's remote access does not retry a userfault),
 * so on a lazy page it came back empty — a migrated process showed no command line until its
 * argument page happened to come.
 */
final class EagerPages {
    private EagerPages() {
    }

    /** The page addresses, ascending and distinct, of {@code threads} (the leader first) and of {@code mm}'s arguments and environment. */
    static long[] of(List<ThreadState> threads, MmInfo mm, long pageSize) {
        TreeSet<Long> pages = new TreeSet<>();
        if (mm != null) {
            addRange(pages, mm.argStart(), mm.argEnd(), pageSize);
            addRange(pages, mm.envStart(), mm.envEnd(), pageSize);
        }
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

    /** The pages of [{@code start}, {@code end}), none when it is empty or absurd (a process may have rewritten them). */
    private static void addRange(TreeSet<Long> pages, long start, long end, long pageSize) {
        if (start != 0 && Long.compareUnsigned(end, start) > 0 && end - start <= MAX_ARGS_BYTES) {
            add(pages, start, end - start, pageSize);
        }
    }

    /** At most this many bytes of arguments, or of environment, are kept eager (the kernel's own limit is far above any real one). */
    private static final long MAX_ARGS_BYTES = 1 << 20;

    /** The pages of [{@code address}, +{@code length}). */
    private static void add(TreeSet<Long> pages, long address, long length, long pageSize) {
        long last = (address + length - 1) & -pageSize;
        for (long page = address & -pageSize; Long.compareUnsigned(page, last) <= 0; page += pageSize) {
            pages.add(page);
        }
    }
}
