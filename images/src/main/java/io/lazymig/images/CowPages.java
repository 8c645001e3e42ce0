package io.lazymig.images;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Private memory shared copy-on-write in a tree ({@link PagemapIov#PE_COW}): a child's PE_COW
 * pages are its parent's pages at the same addresses. Such pages lie only in a VMA the child
 * inherited unchanged ({@link #inherited}), and the parent holds them with data of its own (eager,
 * PE_PRESENT without PE_LAZY) or PE_COW from its own parent: so restore can have the child inherit
 * them by the fork, or copy them from the parent's pages, never waiting for a lazy page of another
 * process.
 */
public final class CowPages {
    private CowPages() {
    }

    /**
     * Whether {@code child}'s VMA is {@code parent}'s as a fork left it: private anonymous (not a
     * kernel area), the same bounds, protection, flags and kind.
     */
    public static boolean inherited(Vma child, Vma parent) {
        return privateAnonymous(child) && child.start() == parent.start() && child.end() == parent.end()
                && child.prot() == parent.prot() && child.flags() == parent.flags() && child.status() == parent.status()
                && privateAnonymous(parent);
    }

    /** Private anonymous memory that is neither the kernel's nor hugetlb: what a fork shares copy-on-write. */
    public static boolean privateAnonymous(Vma v) {
        return (v.flags() & (Vma.MAP_ANONYMOUS | Vma.MAP_PRIVATE | Vma.MAP_SHARED)) == (Vma.MAP_ANONYMOUS | Vma.MAP_PRIVATE)
                && (v.flags() & Vma.MAP_HUGETLB) == 0 && !v.isSpecial() && !v.isShmem() && !v.isFileBacked();
    }

    /** The parent's VMA that {@code child}'s VMA {@code v} was inherited from, if any. */
    public static Optional<Vma> inheritedFrom(ProcessImage parent, Vma v) {
        return parent.vmaAt(v.start()).filter(p -> inherited(v, p));
    }

    /** Checks every PE_COW iov of {@code processes} (parents before children); a breach is an IllegalArgumentException. */
    static void check(List<ProcessImage> processes) {
        Map<Integer, ProcessImage> byPid = new HashMap<>();
        for (ProcessImage p : processes) {
            byPid.put(p.pid(), p);
        }
        for (ProcessImage p : processes) {
            for (PagemapIov iov : p.pagemap().iovs()) {
                if (iov.isCow()) {
                    checkOne(p, byPid.get(p.state().ppid()), iov);
                }
            }
        }
    }

    private static void checkOne(ProcessImage child, ProcessImage parent, PagemapIov iov) {
        String what = "process " + child.pid() + ": " + iov;
        if (parent == null) {
            throw new IllegalArgumentException(what + " is copy-on-write from a parent, and it has none in the checkpoint");
        }
        Vma v = child.vmaAt(iov.vaddr()).orElseThrow(() -> new IllegalArgumentException(what + " is in no VMA"));
        if (Long.compareUnsigned(iov.end(), v.end()) > 0) {
            throw new IllegalArgumentException(what + " runs past the end of " + v);
        }
        if (inheritedFrom(parent, v).isEmpty()) {
            throw new IllegalArgumentException(what + " lies in " + v + ", which parent " + parent.pid()
                    + " has not as it is (copy-on-write pages lie only in a VMA inherited unchanged)");
        }
        long at = iov.vaddr();
        while (Long.compareUnsigned(at, iov.end()) < 0) {
            final long page = at;
            PagemapIov held = parent.pagemap().find(page).orElseThrow(() -> new IllegalArgumentException(what
                    + ": its parent " + parent.pid() + " has no page at 0x" + Long.toHexString(page)));
            if (!held.isCow() && !(held.isPresent() && !held.isLazy())) {
                throw new IllegalArgumentException(what + ": its parent " + parent.pid() + " holds 0x"
                        + Long.toHexString(page) + " as " + held + ", not eager (PE_PRESENT alone) nor PE_COW");
            }
            at = held.end();
        }
    }
}
