package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** 'make demo' (it/e2e/demo.sh) after the build: the migration with its progress line and verdict. */
class E2EDemoIT {
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void demoMigratesAndPrintsIdenticalChecksums() throws Exception {
        E2EDriver.Result r = E2EDriver.run(Duration.ofSeconds(180), Map.of("DEMO_MIB", "64"), "it/e2e/demo.sh");
        assertEquals(0, r.status(), r.output());
        assertTrue(Pattern.compile("lazy-pages: \\d+/\\d+ pages").matcher(r.output()).find(), "no progress line:\n" + r.output());
        assertThat(r.output(), containsString("the daemon exited 0: every page is in"));
        assertThat(r.output(), containsString("— identical"));
        assertTrue(Pattern.compile("migrate: process \\d+ migrated to [0-9.]+ as pid \\d+: downtime [0-9.]+ ms").matcher(r.output()).find(),
                "no migrate summary:\n" + r.output());
        assertThat(r.output(), containsString("migrate: checksum on B: "));
        assertThat(r.output(), not(containsString("DIFFERENT")));
    }
}
