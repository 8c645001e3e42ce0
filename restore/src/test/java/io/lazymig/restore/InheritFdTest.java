package io.lazymig.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** --inherit-fd's two spellings, and what is refused. */
class InheritFdTest {
    @Test
    void anFd() {
        InheritFd i = InheritFd.parse("fd[3]:pipe:[1430519]");
        assertTrue(i.isFd());
        assertEquals(3, i.fd());
        assertEquals("pipe:[1430519]", i.resource());
        assertEquals("fd[3]:pipe:[1430519]", i.toString());
    }

    @Test
    void aPathWithColonsAndBrackets() {
        InheritFd i = InheritFd.parse("/var/log/a:b[1].log:pipe:[7]");
        assertFalse(i.isFd());
        assertEquals("/var/log/a:b[1].log", i.path());
        assertEquals("pipe:[7]", i.resource());
        assertEquals("/var/log/a:b[1].log:pipe:[7]", i.toString());
    }

    @Test
    void refused() {
        for (String bad : new String[] {"fd[3]", "pipe:[7]", "fd[x]:pipe:[7]", "log:pipe:[7]", "fd[3]:socket:[7]",
                "fd[3]:pipe:[]", "/tmp/x:pipe:[7]:"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InheritFd.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("--inherit-fd " + bad + ": "), e.getMessage());
        }
    }
}
