package io.lazymig.images;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A set of page-aligned address ranges, kept sorted and merged; cuts a range into the pieces
 * inside and outside it: the pages of a tree shared copy-on-write, as dump finds them and as
 * restore has them in place.
 */
public final class PageRanges {
    /** Receives the pieces of a cut range, in address order. */
    public interface PieceSink {
        void piece(long start, long end, boolean inside) throws IOException;
    }

    public static final PageRanges NONE = new PageRanges();

    private final List<long[]> ranges = new ArrayList<>();
    private boolean sorted = true;

    /** Adds [start, end); ranges may come in any order and overlap. */
    public void add(long start, long end) {
        if (start >= end) {
            return;
        }
        if (!ranges.isEmpty()) {
            long[] last = ranges.get(ranges.size() - 1);
            if (last[1] == start) {
                last[1] = end;
                return;
            }
            sorted &= last[1] < start;
        }
        ranges.add(new long[] {start, end});
    }

    public boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** Bytes covered. */
    public long bytes() {
        normalize();
        long total = 0;
        for (long[] r : ranges) {
            total += r[1] - r[0];
        }
        return total;
    }

    /** Every range, in address order, as pieces inside. */
    public void forEach(PieceSink sink) throws IOException {
        normalize();
        for (long[] r : List.copyOf(ranges)) {
            sink.piece(r[0], r[1], true);
        }
    }

    /** Cuts [start, end) into maximal pieces inside and outside this set, in address order. */
    public void cut(long start, long end, PieceSink sink) throws IOException {
        normalize();
        long at = start;
        int i = firstEndingAfter(start);
        for (; i < ranges.size() && ranges.get(i)[0] < end && at < end; i++) {
            long[] r = ranges.get(i);
            if (r[0] > at) {
                sink.piece(at, r[0], false);
                at = r[0];
            }
            long stop = Math.min(r[1], end);
            sink.piece(at, stop, true);
            at = stop;
        }
        if (at < end) {
            sink.piece(at, end, false);
        }
    }

    private int firstEndingAfter(long address) {
        int low = 0;
        int high = ranges.size();
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (ranges.get(mid)[1] <= address) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low;
    }

    private void normalize() {
        if (sorted) {
            return;
        }
        ranges.sort(Comparator.comparingLong(r -> r[0]));
        List<long[]> merged = new ArrayList<>();
        for (long[] r : ranges) {
            long[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (last != null && r[0] <= last[1]) {
                last[1] = Math.max(last[1], r[1]);
            } else {
                merged.add(new long[] {r[0], r[1]});
            }
        }
        ranges.clear();
        ranges.addAll(merged);
        sorted = true;
    }
}
