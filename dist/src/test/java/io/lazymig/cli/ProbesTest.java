package io.lazymig.cli;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The probes' bounded command runner: output, exit code, a missing command, and a command that hangs. */
@Timeout(60)
class ProbesTest {
    @Test
    void finishedCommandGivesItsExitCodeAndOutput() throws Exception {
        Probes.Finished f = Probes.runBounded(List.of("sh", "-c", "echo out; echo err >&2; exit 3"), Duration.ofSeconds(30));
        assertEquals(3, f.exitCode());
        assertEquals("out\nerr", f.output());
    }

    @Test
    void missingCommandIsNoSuchFile() {
        assertThrows(NoSuchFileException.class,
                () -> Probes.runBounded(List.of("/nonexistent/lazymig-cmd"), Duration.ofSeconds(30)));
        IOException e = assertThrows(IOException.class, () -> Probes.run("/nonexistent/lazymig-cmd"));
        assertEquals("'/nonexistent/lazymig-cmd' not found (install iproute2 and util-linux)", e.getMessage());
    }

    @Test
    void aCommandPastItsBoundIsKilledAndNamed() {
        // A child that would outlive the test by far, even holding stdout open: the bound ends it.
        IOException e = assertThrows(IOException.class,
                () -> Probes.runBounded(List.of("sleep", "600"), Duration.ofMillis(300)));
        assertEquals("'sleep 600' did not finish in 300 ms (killed)", e.getMessage());
        assertTrue(ProcessHandle.current().children().noneMatch(c -> c.info().command().orElse("").endsWith("/sleep")),
                "the sleep was reaped");
    }

    @Test
    void failingCommandNamesItselfAndItsFirstLine() {
        IOException e = assertThrows(IOException.class, () -> Probes.run("sh", "-c", "echo first; echo second; exit 1"));
        assertThat(e.getMessage(), containsString("'sh -c echo first; echo second; exit 1' failed: first"));
    }
}
