package io.lazymig.lazyclient;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The pages of one process still to be copied in: disjoint page-aligned runs [start, end) at the
 * process's current addresses, each remembering the dump-time address of its start (where its data
 * is in the checkpoint). A remap moves runs; an unmap or remove drops them.
 */
final class PendingPages {
    /** A run of pending pages; {@code source} is the dump-time address of {@code start}. */
    record Run(long start, long end, long source) {
        long length() {
            return end - start;
        }

        long sourceOf(long address) {
            return source + (address - start);
        }
    }

    private final TreeMap<Long, Run> runs = new TreeMap<>();
    private long bytes;

    void add(long start, long end, long source) {
        if (end <= start) {
            return;
        }
        remove(start, end);
        runs.put(start, new Run(start, end, source));
        bytes += end - start;
    }

    boolean isEmpty() {
        return runs.isEmpty();
    }

    long bytes() {
        return bytes;
    }

    /** The run holding {@code address}, or null. */
    Run find(long address) {
        Map.Entry<Long, Run> e = runs.floorEntry(address);
        return e != null && address < e.getValue().end() ? e.getValue() : null;
    }

    /** Removes [start, end) and returns the parts that were pending (in address order). */
    List<Run> take(long start, long end) {
        List<Run> out = new ArrayList<>();
        Map.Entry<Long, Run> first = runs.floorEntry(start);
        Long from = first != null && first.getValue().end() > start ? first.getKey() : runs.ceilingKey(start);
        if (from == null || from >= end) {
            return out;
        }
        for (Run r : new ArrayList<>(runs.subMap(from, true, end, false).values())) {
            runs.remove(r.start());
            bytes -= r.length();
            long s = Math.max(r.start(), start);
            long e = Math.min(r.end(), end);
            if (r.start() < s) {
                runs.put(r.start(), new Run(r.start(), s, r.source()));
                bytes += s - r.start();
            }
            if (e < r.end()) {
                runs.put(e, new Run(e, r.end(), r.sourceOf(e)));
                bytes += r.end() - e;
            }
            out.add(new Run(s, e, r.sourceOf(s)));
        }
        return out;
    }

    /** Drops [start, end): unmapped or removed memory needs no data any more. */
    void remove(long start, long end) {
        take(start, end);
    }

    /** The memory at [from, from+len) moved to [to, to+len). */
    void remap(long from, long to, long len) {
        for (Run r : take(from, from + len)) {
            long delta = to - from;
            add(r.start() + delta, r.end() + delta, r.source());
        }
    }

    /** The first pending run at or after {@code address}, wrapping around to the lowest; null when empty. */
    Run nextFrom(long address) {
        Run r = find(address);
        if (r != null) {
            return r;
        }
        Map.Entry<Long, Run> e = runs.ceilingEntry(address);
        if (e == null) {
            e = runs.firstEntry();
        }
        return e == null ? null : e.getValue();
    }

    /** A copy, for a forked child that shares the parent's missing pages. */
    PendingPages copy() {
        PendingPages p = new PendingPages();
        runs.values().forEach(r -> p.add(r.start(), r.end(), r.source()));
        return p;
    }
}
