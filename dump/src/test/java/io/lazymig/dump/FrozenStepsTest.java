package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The frozen-time breakdown: its one-line form, lookup by name, and that the laps add up to the total. */
class FrozenStepsTest {
    @Test
    void summaryListsTheStepsInOrderInMilliseconds() {
        FrozenSteps s = new FrozenSteps(List.of(new FrozenSteps.Step("freeze", 100_000),
                new FrozenSteps.Step("pagemap", 30_250_000), new FrozenSteps.Step("images", 4_000_000)), 41_230_000);
        assertEquals("frozen 41.2 ms: freeze 0.1, pagemap 30.3, images 4.0", s.summary());
        assertEquals(30_250_000, s.nanos("pagemap"));
        assertEquals(0, s.nanos("read"), "a step that did not run");
    }

    @Test
    void lapsAndTheirPartsAddUpToTheTotal() {
        FrozenSteps.Clock c = new FrozenSteps.Clock(System.nanoTime());
        c.lap(FrozenSteps.FREEZE);
        c.lap(FrozenSteps.PAGEMAP, new FrozenSteps.Step(FrozenSteps.READ, 0), new FrozenSteps.Step(FrozenSteps.WRITE, 0));
        c.lap(FrozenSteps.IMAGES);
        FrozenSteps s = c.stop();
        assertEquals(List.of("freeze", "pagemap", "read", "write", "images"),
                s.steps().stream().map(FrozenSteps.Step::name).toList());
        assertEquals(s.totalNanos(), s.steps().stream().mapToLong(FrozenSteps.Step::nanos).sum());
    }
}
