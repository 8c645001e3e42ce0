package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code ./lazymig check} through the launcher, as root on this machine: every capability OK. */
class LauncherCheckIT {
    @Test
    @Timeout(60)
    void checkPrintsAllOk() throws Exception {
        Path launcher = Path.of(System.getProperty("lazymig.root"), "lazymig");
        Process p = new ProcessBuilder(launcher.toString(), "check").redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        p.waitFor(30, TimeUnit.SECONDS);
        assertEquals(0, p.exitValue(), output);
        assertThat(output, not(containsString("FAIL")));
        assertThat(output, containsString("userfaultfd with fork, remap, remove and unmap events      OK"));
        assertEquals(7, output.lines().count(), output);
    }
}
