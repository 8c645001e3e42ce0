package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class InjectionsTest {
    @Test
    void asksForCaughtAndIgnoredSignalsAndAlwaysSigchld() {
        long set = (1L << (2 - 1)) | (1L << (64 - 1)); // SIGINT and signal 64, as /proc/PID/status shows them
        assertTrue(Injections.asked(set, 2));
        assertTrue(Injections.asked(set, 64));
        assertTrue(Injections.asked(0, 17), "SIGCHLD's flags act on its default action too");
        assertFalse(Injections.asked(set, 1));
        assertFalse(Injections.asked(set, 15));
        assertFalse(Injections.asked(0, 63));
    }
}
