package io.lazymig.lazyclient;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lazymig.jni.SystemInfo;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class StatsTest {
    private static final long PAGE = SystemInfo.PAGE_SIZE;

    @Test
    void timelineCountsPagesByKindAndNeverGoesDown() throws Exception {
        Stats s = new Stats(100);
        s.started();
        s.copied(Stats.Kind.FAULT, 4 * PAGE, true);       // 1 fault page + 3 around it
        Thread.sleep(3 * Stats.TIMELINE_STEP_MS);
        s.copied(Stats.Kind.BACKGROUND, 10 * PAGE, false);
        s.finished();
        String json = s.toJson();

        long[] fault = values(series(json, "fault"));
        long[] bg = values(series(json, "background"));
        long[] around = values(series(json, "fault_around"));
        assertThat(bg.length, greaterThan(2));
        assertEquals(0, bg[0]);
        assertEquals(10, bg[bg.length - 1]);
        for (int i = 0; i < fault.length; i++) {
            assertEquals(1, fault[i]);
            assertEquals(3, around[i]);
        }
        for (int i = 1; i < bg.length; i++) {
            assertThat(bg[i] + 1, greaterThan(bg[i - 1]));
        }
        assertThat(json, containsString("\"step_ms\": " + Stats.TIMELINE_STEP_MS));
    }

    @Test
    void reportsWallClockAndPeakRss() {
        Stats s = new Stats(1);
        long before = System.currentTimeMillis();
        s.started();
        s.finished();
        String json = s.toJson();
        long start = number(json, "start_epoch_ms");
        long end = number(json, "end_epoch_ms");
        assertThat(start + 1, greaterThan(before));
        assertThat(end + 1, greaterThan(start));
        assertThat(number(json, "peak_rss_kib"), greaterThan(1024L)); // a JVM is never under 1 MiB
    }

    private static String series(String json, String kind) {
        Matcher m = Pattern.compile("\"" + kind + "\": (\\[[0-9,]*\\])").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no " + kind + " series in " + json);
        }
        return m.group(1);
    }

    private static long[] values(String series) {
        String inner = series.substring(1, series.length() - 1);
        return inner.isEmpty() ? new long[0] : java.util.Arrays.stream(inner.split(",")).mapToLong(Long::parseLong).toArray();
    }

    private static long number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\": (-?[0-9]+)").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no " + key + " in " + json);
        }
        return Long.parseLong(m.group(1));
    }
}
