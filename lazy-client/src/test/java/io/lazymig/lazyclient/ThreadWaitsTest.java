package io.lazymig.lazyclient;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ThreadWaitsTest {
    private static final long PAGE = 4096;
    private static final long US = 1000;

    /** Every wait ends once, counted with its own latency, by whatever fill covers its page. */
    @Test
    void eachWaitIsCountedOnceByTheFillThatEndsIt() {
        Stats stats = new Stats(100);
        ThreadWaits w = new ThreadWaits();
        long t0 = 1_000_000;
        w.started(10 * PAGE, t0);              // a thread on page 10
        w.started(10 * PAGE, t0 + 5 * US);     // a second thread on the same page
        w.started(40 * PAGE, t0 + 10 * US);    // a third on page 40
        assertEquals(3, w.size());

        w.ended(0, 8 * PAGE, t0 + 20 * US, stats);          // a fill elsewhere ends nothing
        assertEquals(3, w.size());
        w.ended(8 * PAGE, 24 * PAGE, t0 + 100 * US, stats); // a background chunk over page 10: both threads
        assertEquals(1, w.size());
        w.ended(8 * PAGE, 24 * PAGE, t0 + 900 * US, stats); // the fault's own copy, later, finds none left
        w.ended(40 * PAGE, 41 * PAGE, t0 + 60 * US, stats); // a racing fill found there (EEXIST) ends the third
        assertEquals(0, w.size());

        stats.finished();
        String json = stats.toJson();
        assertThat(json, containsString("\"faults\": 3,"));
        // latencies 100, 95 and 50 us: the median is 95 (the histogram keeps 2 significant digits: 1%)
        assertEquals(95.0, latency(json, "p50"), 0.95);
        assertEquals(100.0, latency(json, "max"), 1.0);
    }

    /** A thread woken to fault again (a layout change) is not counted: its next message begins a new wait. */
    @Test
    void aWokenWaitEndsUncountedAndTheNextMessageStartsAnother() {
        Stats stats = new Stats(100);
        ThreadWaits w = new ThreadWaits();
        w.started(5 * PAGE, 0);
        w.started(6 * PAGE, 0);
        w.woken(5 * PAGE, 6 * PAGE);
        assertEquals(1, w.size());
        w.started(5 * PAGE, 70 * US);
        w.ended(0, 16 * PAGE, 100 * US, stats);
        assertEquals(0, w.size());
        stats.finished();
        assertThat(stats.toJson(), containsString("\"faults\": 2,"));
        assertEquals(100.0, latency(stats.toJson(), "max"), 1.0); // from the second message, not the first
    }

    /** Many waits at once (a thread per page of a large process): none is lost as the table grows. */
    @Test
    void manyWaitsGrowTheTableAndAllEnd() {
        Stats stats = new Stats(10_000);
        ThreadWaits w = new ThreadWaits();
        for (int i = 0; i < 1000; i++) {
            w.started(i * PAGE, i);
        }
        assertEquals(1000, w.size());
        w.ended(0, 500 * PAGE, 2000, stats);
        w.ended(500 * PAGE, 1000 * PAGE, 2000, stats);
        assertEquals(0, w.size());
        stats.finished();
        assertThat(stats.toJson(), containsString("\"faults\": 1000,"));
    }

    private static double latency(String json, String which) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + which + "\": ([0-9.]+)").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no " + which + " in " + json);
        }
        return Double.parseDouble(m.group(1));
    }
}
