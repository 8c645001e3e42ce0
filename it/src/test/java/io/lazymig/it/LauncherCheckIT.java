package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code ./lazymig check} through the launcher, as root on this machine: every capability OK. */
class LauncherCheckIT {
    @Test
    @Timeout(60)
    void checkPrintsAllOk() throws Exception {
        Path launcher = Path.of(System.getProperty("lazymig.root"), "lazymig");
        ChildGroup.Finished f = ChildGroup.run(30, List.of(launcher.toString(), "check"));
        String output = f.output();
        assertFalse(f.timedOut(), "lazymig check did not finish within 30 s (killed):\n" + output);
        assertEquals(0, f.exit(), output);
        assertThat(output, not(containsString("FAIL")));
        assertThat(output, containsString("userfaultfd with fork, remap, remove and unmap events      OK"));
        assertThat(output, containsString("encryption: TLS 1.3 with AES-GCM (the default transport)   OK"));
        // every capability line says OK; the key file's line may say NOTE (absent on a fresh machine)
        List<String> lines = output.lines().toList();
        assertEquals("Looks good.", lines.get(lines.size() - 1), output);
        for (String l : lines.subList(0, lines.size() - 1)) {
            boolean keyFile = l.startsWith("key file ");
            assertTrue(l.matches(".*\\s(OK|OK \\(.*\\))$") || keyFile && l.matches(".*\\s(OK|NOTE: .*)$"),
                    "a capability that is not OK: " + l + "\n" + output);
        }
    }
}
