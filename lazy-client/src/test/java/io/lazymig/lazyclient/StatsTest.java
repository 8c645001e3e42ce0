package io.lazymig.lazyclient;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.jni.SystemInfo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class StatsTest {
    private static final long PAGE = SystemInfo.PAGE_SIZE;

    /** A clock the test moves by hand: monotonic nanoseconds and wall-clock milliseconds together. */
    private static final class ManualClock {
        long nanos = 5_000_000_000_000L; // an arbitrary origin, as System.nanoTime's is
        long epochMs = 1_780_000_000_000L;

        void advanceMillis(long ms) {
            nanos += ms * 1_000_000L;
            epochMs += ms;
        }

        Stats stats(long totalPages) {
            return new Stats(totalPages, () -> nanos, () -> epochMs);
        }
    }

    @Test
    void timelineCountsPagesByKindAndNeverGoesDown() {
        ManualClock clock = new ManualClock();
        Stats s = clock.stats(100);
        s.started();
        s.copied(Stats.Kind.FAULT, 4 * PAGE, true);       // step 0: 1 fault page + 3 around it
        clock.advanceMillis(3 * Stats.TIMELINE_STEP_MS + 1);
        s.copied(Stats.Kind.BACKGROUND, 10 * PAGE, false); // step 3
        clock.advanceMillis(Stats.TIMELINE_STEP_MS);
        s.copied(Stats.Kind.FAULT, PAGE, false);           // step 4: fault-around only
        s.finished();
        String json = s.toJson();

        assertArrayEquals(new long[] {1, 1, 1, 1, 1}, values(series(json, "fault")));
        assertArrayEquals(new long[] {3, 3, 3, 3, 4}, values(series(json, "fault_around")));
        assertArrayEquals(new long[] {0, 0, 0, 10, 10}, values(series(json, "background")));
        assertThat(json, containsString("\"step_ms\": " + Stats.TIMELINE_STEP_MS));
        assertEquals(15, number(json, "pages_fault") + number(json, "pages_fault_around") + number(json, "pages_background"));
    }

    /** Where faults' time went: the reply (network and source host) and the copy (this host), percentiles in us. */
    @Test
    void reportsTheStagesOfFaults() {
        ManualClock clock = new ManualClock();
        Stats s = clock.stats(4);
        s.started();
        s.faultStages(400_000, 5_000, 300_000, 1_000, 20_000);
        s.faultStages(150_000, 5_000, 100_000, 1_000, 10_000);
        s.faultStages(250_000, 5_000, 200_000, 1_000, 30_000);
        s.finished();
        String json = s.toJson();
        // HdrHistogram keeps 3 significant digits: 200 us reads back as 200.1
        assertStage(json, "fault_reply_us", 200, 300);
        assertStage(json, "fault_copy_us", 20, 30);
        // the slowest first, each [since the fault, ask, reply, lock, copy] in us, and when in ms
        assertThat(json, containsString("\"slowest_faults_us\": [[400, 5, 300, 1, 20, 0], [250, 5, 200, 1, 30, 0], [150, 5, 100, 1, 10, 0]]"));
    }

    private static void assertStage(String json, String name, double p50, double p99) {
        Matcher m = Pattern.compile("\"" + name
                + "\": \\{\"count\": (\\d+), \"p50\": ([0-9.]+), \"p99\": ([0-9.]+), \"max\": ([0-9.]+)\\}").matcher(json);
        assertTrue(m.find(), json);
        assertEquals(3, Long.parseLong(m.group(1)));
        assertEquals(p50, Double.parseDouble(m.group(2)), p50 / 100);
        assertEquals(p99, Double.parseDouble(m.group(3)), p99 / 100);
        assertEquals(p99, Double.parseDouble(m.group(4)), p99 / 100);
    }

    @Test
    void reportsWallClockDurationAndPeakRss() {
        ManualClock clock = new ManualClock();
        Stats s = clock.stats(1);
        long start = clock.epochMs;
        s.started();
        clock.advanceMillis(1500);
        s.finished();
        String json = s.toJson();
        assertEquals(start, number(json, "start_epoch_ms"));
        assertEquals(start + 1500, number(json, "end_epoch_ms"));
        assertThat(json, containsString("\"duration_s\": 1.500000,"));
        assertThat(number(json, "peak_rss_kib"), greaterThan(1024L)); // a JVM is never under 1 MiB
    }

    @Test
    void progressLineEndsWithTheFinalFiguresAtClose() {
        ManualClock clock = new ManualClock();
        Stats s = clock.stats(10);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ProgressLine line = ProgressLine.start(s, new PrintStream(out, true, StandardCharsets.UTF_8));
        s.started();
        s.copied(Stats.Kind.BACKGROUND, 3 * PAGE, false); // never writes itself: it runs under the daemon's lock
        clock.advanceMillis(1000);
        s.finished();
        line.close();
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text, containsString("\rlazy-pages: 3/10 pages, 0 MB/s, 0 faults served"));
        assertTrue(text.endsWith("\n"), text);
        assertEquals(null, ProgressLine.start(s, null), "no stream, no line");
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
