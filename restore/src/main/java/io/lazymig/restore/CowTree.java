package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.CowPages;
import io.lazymig.images.PageRanges;
import io.lazymig.images.PagemapIov;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.Vma;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Private memory shared copy-on-write in a tree, restored shared ({@link PagemapIov#PE_COW}).
 * Before a parent's children are forked from its (still pristine) stub, the parent gets the VMAs
 * they inherited unchanged, mapped at their addresses, with the pages they share written in
 * ({@link #beforeForks}); each child then inherits both from the fork, as the original did, and
 * keeps them ({@link #kept}): its restore maps nothing there, drops what of them is not its own
 * ({@link #inPlace}) and writes only its own pages on top. The same holds down the tree. A VMA that
 * lies where the parent's stub has a mapping of its own is not mapped early: the child's pages
 * shared with it are then copied from the parent's pages ({@link #resolve}), correct but not shared.
 * All on the tracer thread.
 */
final class CowTree {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    /** Takes ranges of pages to write: address, the pages-N.img they are in and where, length. */
    interface Planner {
        void plan(long address, int pagesId, long fileOffset, long length);
    }

    private final Path dir;
    private final Map<Integer, ProcessImage> byPid = new HashMap<>();
    /** Original pid → the VMAs in place in its stub (inherited by its fork, or mapped before its children's). */
    private final Map<Integer, List<Vma>> present = new HashMap<>();
    /** Original pid → its pages already right in those VMAs. */
    private final Map<Integer, PageRanges> inPlace = new HashMap<>();
    private long inheritedBytes;
    private long writtenBeforeForks;

    private CowTree(Checkpoint cp, Path dir) {
        this.dir = dir;
        for (ProcessImage p : cp.processes()) {
            byPid.put(p.pid(), p);
        }
    }

    /** The tree's copy-on-write pages to restore shared, or null when no process has any. */
    static CowTree of(Checkpoint cp, Path dir) {
        for (ProcessImage p : cp.processes()) {
            if (p.pagemap().cowPages() > 0) {
                return new CowTree(cp, dir);
            }
        }
        return null;
    }

    /**
     * In {@code parent}'s pristine stub, before any of {@code children} is forked from it: maps the
     * VMAs they inherited that are not there yet and writes the pages they share with it.
     */
    void beforeForks(ProcessImage parent, Stub stub, List<ProcessImage> children) throws IOException {
        List<Vma> have = present.computeIfAbsent(parent.pid(), k -> new ArrayList<>());
        PageRanges placed = inPlace.computeIfAbsent(parent.pid(), k -> new PageRanges());
        List<Mapping> stubMaps = Mapping.of(stub.pid());
        PageRanges needed = new PageRanges();
        List<Vma> mappedNow = new ArrayList<>();
        for (ProcessImage child : children) {
            for (PagemapIov iov : child.pagemap().iovs()) {
                if (!iov.isCow()) {
                    continue;
                }
                Vma pv = CowPages.inheritedFrom(parent, child.vmaAt(iov.vaddr()).orElseThrow()).orElseThrow();
                if (!startsAt(have, pv.start())) {
                    if (overlapsStub(pv, stubMaps)) {
                        log.debug("restore: {} of process {} lies where its stub has a mapping: its children's "
                                + "copy-on-write pages there are copied, not shared", pv, parent.pid());
                        continue;
                    }
                    int flags = (pv.flags() & (Vma.MAP_PRIVATE | Vma.MAP_ANONYMOUS | Vma.MAP_GROWSDOWN
                            | Vma.MAP_NORESERVE)) | Syscalls.MAP_FIXED;
                    stub.call("mmap", Syscalls.MMAP, pv.start(), pv.length(), pv.prot(), flags, -1, 0);
                    have.add(pv);
                    mappedNow.add(pv);
                }
                needed.add(iov.vaddr(), iov.end());
            }
        }
        List<Vma> raised = new ArrayList<>();
        long bytes;
        try (PageCopy copy = new PageCopy(stub.pid(), dir)) {
            needed.forEach((s, e, in) -> placed.cut(s, e, (s2, e2, already) -> {
                if (!already) {
                    resolve(parent, s2, e2, copy);
                }
            }));
            for (Vma v : have) {
                if ((v.prot() & Vma.PROT_WRITE) == 0 && !copy.isEmpty()) {
                    stub.call("mprotect", Syscalls.MPROTECT, v.start(), v.length(), v.prot() | Vma.PROT_WRITE);
                    raised.add(v);
                }
            }
            bytes = copy.write();
        }
        for (Vma v : raised) {
            stub.call("mprotect", Syscalls.MPROTECT, v.start(), v.length(), v.prot());
        }
        needed.forEach((s, e, in) -> placed.add(s, e));
        writtenBeforeForks += bytes;
        log.debug("restore: process {}: {} VMA(s) mapped and {} bytes written before its children's fork, shared "
                + "copy-on-write with them", parent.pid(), mappedNow.size(), bytes);
    }

    /** After {@code child} was forked from {@code parent}'s stub: what it inherited that it keeps. */
    void forked(ProcessImage parent, ProcessImage child) {
        List<Vma> kept = new ArrayList<>();
        for (Vma pv : present.getOrDefault(parent.pid(), List.of())) {
            Optional<Vma> cv = child.vmaAt(pv.start()).filter(v -> CowPages.inherited(v, pv));
            cv.ifPresent(kept::add);
        }
        PageRanges placed = new PageRanges();
        for (PagemapIov iov : child.pagemap().iovs()) {
            if (iov.isCow() && keeps(kept, iov)) {
                placed.add(iov.vaddr(), iov.end());
                inheritedBytes += iov.length();
            }
        }
        present.put(child.pid(), kept);
        inPlace.put(child.pid(), placed);
    }

    /** The VMAs of process {@code pid} (original) already in its stub: restore keeps them as they are. */
    List<Vma> kept(int pid) {
        return present.getOrDefault(pid, List.of());
    }

    /** The pages of process {@code pid} (original) already right in its kept VMAs. */
    PageRanges inPlace(int pid) {
        return inPlace.getOrDefault(pid, PageRanges.NONE);
    }

    /** Bytes written into parents before their children's forks (the pages they share). */
    long writtenBeforeForks() {
        return writtenBeforeForks;
    }

    /** Bytes of the children's pages they got from their parents by the fork, shared. */
    long inheritedBytes() {
        return inheritedBytes;
    }

    /**
     * Plans the data of {@code p}'s pages [start, end) into {@code copy}: from its own pages file,
     * or, for a PE_COW page, from its parent's, up the tree.
     */
    void resolve(ProcessImage p, long start, long end, Planner copy) throws IOException {
        long at = start;
        while (at < end) {
            final long page = at;
            PagemapIov iov = p.pagemap().find(page).orElseThrow(() -> new RestoreException("process " + p.pid()
                    + " has no page at 0x" + Long.toHexString(page) + " for its children's copy-on-write pages"));
            long stop = Math.min(end, iov.end());
            if (iov.isCow()) {
                ProcessImage parent = byPid.get(p.state().ppid());
                if (parent == null) {
                    throw new RestoreException("process " + p.pid() + ": " + iov + " has no parent to take it from");
                }
                resolve(parent, at, stop, copy);
            } else if (iov.isPresent()) {
                copy.plan(at, p.pagemap().pagesId(), iov.fileOffset(at), stop - at);
            } else {
                throw new RestoreException("process " + p.pid() + ": " + iov + " has no data for its children's "
                        + "copy-on-write pages");
            }
            at = stop;
        }
    }

    private static boolean startsAt(List<Vma> vmas, long start) {
        for (Vma v : vmas) {
            if (v.start() == start) {
                return true;
            }
        }
        return false;
    }

    private static boolean keeps(List<Vma> kept, PagemapIov iov) {
        for (Vma v : kept) {
            if (v.contains(iov.vaddr())) {
                return true;
            }
        }
        return false;
    }

    private static boolean overlapsStub(Vma v, List<Mapping> stubMaps) {
        for (Mapping m : stubMaps) {
            if (m.overlaps(v.start(), v.end())) {
                return true;
            }
        }
        return false;
    }
}
