package io.lazymig.dump;

import io.lazymig.images.CowPages;
import io.lazymig.images.PageRanges;
import io.lazymig.images.Vma;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which private pages of a frozen tree are still shared copy-on-write between a process and its
 * parent: in a VMA the child inherited unchanged ({@link CowPages#inherited}), a page present in
 * both whose /proc/PID/pagemap PFN is the same is one page of memory, never written by either
 * since the fork. The child's such pages are dumped as PE_COW (no data); the parent's are dumped
 * eagerly (PE_PRESENT, never PE_LAZY), as restore must have them in the parent before it forks the
 * child. Read once for the whole tree before any process's pages are collected, as root (PFNs
 * read as 0 otherwise: then nothing is shared).
 */
final class CowShares {
    /** One process's part: its pages shared with its parent, and its pages some child shares. */
    record Of(PageRanges cow, PageRanges eager) {
    }

    private static final Of NOTHING = new Of(PageRanges.NONE, PageRanges.NONE);

    private final Map<Integer, Of> byPid;
    private final long cowBytes;

    private CowShares(Map<Integer, Of> byPid, long cowBytes) {
        this.byPid = byPid;
        this.cowBytes = cowBytes;
    }

    /**
     * The shares of {@code members} (parents before children, the root first); {@code maps}: each
     * member's VMAs, as the dump read them once (smaps).
     */
    static CowShares find(List<FrozenTree.Member> members, Map<Integer, List<MapsEntry>> maps, long pageSize)
            throws IOException {
        Map<Integer, Of> byPid = new HashMap<>();
        if (members.size() < 2) {
            return new CowShares(byPid, 0);
        }
        Map<Integer, List<Vma>> vmas = new HashMap<>();
        Map<Integer, Map<Long, Vma>> byStart = new HashMap<>();
        for (FrozenTree.Member m : members) {
            List<Vma> list = privateAnonymous(maps.get(m.pid()));
            vmas.put(m.pid(), list);
            Map<Long, Vma> starts = new HashMap<>();
            for (Vma v : list) {
                starts.put(v.start(), v);
            }
            byStart.put(m.pid(), starts);
            byPid.put(m.pid(), new Of(new PageRanges(), new PageRanges()));
        }
        long total = 0;
        // each parent VMA's pagemap entries, read once for all the children that inherited it (the
        // parent is frozen: they cannot change); by parent pid, then the VMA's start
        Map<Integer, Map<Long, long[]>> parentEntries = new HashMap<>();
        for (FrozenTree.Member m : members) {
            Map<Long, Vma> parentVmas = byStart.get(m.ppid());
            if (parentVmas == null) {
                continue; // the root
            }
            Of child = byPid.get(m.pid());
            Of parent = byPid.get(m.ppid());
            Map<Long, long[]> cached = parentEntries.computeIfAbsent(m.ppid(), p -> new HashMap<>());
            try (ProcPagemap mine = new ProcPagemap(m.pid(), pageSize);
                 ProcPagemap theirs = new ProcPagemap(m.ppid(), pageSize)) {
                for (Vma v : vmas.get(m.pid())) {
                    Vma from = parentVmas.get(v.start());
                    if (from == null || !CowPages.inherited(v, from)) {
                        continue; // inherited: the same bounds as the parent's, so one read serves every child
                    }
                    long[] parentPages = cached.get(v.start());
                    if (parentPages == null) {
                        parentPages = theirs.read(v.start(), v.end());
                        cached.put(v.start(), parentPages);
                    }
                    total += shared(v, mine.read(v.start(), v.end()), parentPages, pageSize, child.cow(), parent.eager());
                }
            }
        }
        return new CowShares(byPid, total);
    }

    /** The part of {@code pid}. */
    Of of(int pid) {
        return byPid.getOrDefault(pid, NOTHING);
    }

    /** Bytes of all children's pages found shared with their parents. */
    long cowBytes() {
        return cowBytes;
    }

    /** Adds the runs of pages of {@code v} both entries show as one present page; returns their bytes. */
    private static long shared(Vma v, long[] mine, long[] theirs, long pageSize, PageRanges cow, PageRanges eager) {
        long bytes = 0;
        int run = -1;
        for (int i = 0; i <= mine.length; i++) {
            boolean same = i < mine.length && samePage(mine[i], theirs[i]);
            if (same && run < 0) {
                run = i;
            } else if (!same && run >= 0) {
                long start = v.start() + run * pageSize;
                long end = v.start() + i * pageSize;
                cow.add(start, end);
                eager.add(start, end);
                bytes += end - start;
                run = -1;
            }
        }
        return bytes;
    }

    private static boolean samePage(long a, long b) {
        return ProcPagemap.present(a) && ProcPagemap.present(b) && ProcPagemap.pfn(a) != 0
                && ProcPagemap.pfn(a) == ProcPagemap.pfn(b);
    }

    /** The private anonymous VMAs among {@code maps}; a mapping the dump refuses is left to the dump to name. */
    private static List<Vma> privateAnonymous(List<MapsEntry> maps) {
        List<Vma> out = new ArrayList<>();
        for (MapsEntry e : maps) {
            Vma v;
            try {
                v = VmaClassifier.classify(e);
            } catch (DumpException refused) {
                continue;
            }
            if (CowPages.privateAnonymous(v)) {
                out.add(v);
            }
        }
        return out;
    }
}
