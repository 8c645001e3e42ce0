package io.lazymig.it;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** A readable account of how two maps page address -> PE_* flags differ (failure messages). */
final class PageDiff {
    private static final int MAX_LINES = 40;

    private PageDiff() {
    }

    /** Runs of consecutive pages with the same (expected, actual) flags, e.g. "7f00-7f03: 6 / -". */
    static String describe(SortedMap<Long, Integer> expected, SortedMap<Long, Integer> actual) {
        SortedMap<Long, int[]> diff = new TreeMap<>(Long::compareUnsigned);
        for (Map.Entry<Long, Integer> e : expected.entrySet()) {
            if (!e.getValue().equals(actual.get(e.getKey()))) {
                diff.put(e.getKey(), new int[] { e.getValue(), actual.getOrDefault(e.getKey(), 0) });
            }
        }
        for (Map.Entry<Long, Integer> e : actual.entrySet()) {
            if (!expected.containsKey(e.getKey())) {
                diff.put(e.getKey(), new int[] { 0, e.getValue() });
            }
        }
        List<String> lines = new ArrayList<>();
        long runStart = 0;
        long runEnd = 0;
        int[] runFlags = null;
        for (Map.Entry<Long, int[]> e : diff.entrySet()) {
            if (runFlags != null && e.getKey() == runEnd && e.getValue()[0] == runFlags[0] && e.getValue()[1] == runFlags[1]) {
                runEnd += ProcView.PAGE;
                continue;
            }
            if (runFlags != null) {
                lines.add(line(runStart, runEnd, runFlags));
            }
            runStart = e.getKey();
            runEnd = runStart + ProcView.PAGE;
            runFlags = e.getValue();
        }
        if (runFlags != null) {
            lines.add(line(runStart, runEnd, runFlags));
        }
        int shown = Math.min(lines.size(), MAX_LINES);
        return diff.size() + " pages differ (expected flags / actual flags, - = not dumped):\n  "
                + String.join("\n  ", lines.subList(0, shown)) + (shown < lines.size() ? "\n  ..." : "");
    }

    private static String line(long start, long end, int[] flags) {
        return String.format("%x-%x: %s / %s", start, end, name(flags[0]), name(flags[1]));
    }

    private static String name(int flags) {
        return flags == 0 ? "-" : Integer.toString(flags);
    }
}
