package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The per-thread signal and scheduling records refuse what the kernel never reports, and keep the raw siginfo. */
class ThreadStateTest {
    @Test
    void schedHoldsWhatSchedSetschedulerTakes() {
        assertTrue(new Sched(Sched.SCHED_FIFO, 99, -20).isRealTime());
        assertFalse(new Sched(Sched.SCHED_IDLE, 0, 19).isRealTime());
        assertThrows(IllegalArgumentException.class, () -> new Sched(Sched.SCHED_RR, 0, 0), "RT needs 1..99");
        assertThrows(IllegalArgumentException.class, () -> new Sched(Sched.SCHED_BATCH, 5, 0), "no priority");
        assertThrows(IllegalArgumentException.class, () -> new Sched(Sched.SCHED_DEADLINE, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sched(Sched.SCHED_OTHER, 0, 20));
    }

    @Test
    void altStackFlagsAreTheKernels() {
        assertFalse(SigAltStack.DISABLED.isEnabled());
        assertTrue(new SigAltStack(0x1000, 8192, SigAltStack.SS_ONSTACK | SigAltStack.SS_AUTODISARM).isEnabled());
        assertThrows(IllegalArgumentException.class, () -> new SigAltStack(0x1000, 8192, 4));
    }

    @Test
    void sigInfoIsTheRawSiginfo() {
        SigInfo s = SigInfo.of(36, SigInfo.SI_QUEUE, 77, 1000, 0x5eed0001L);
        assertEquals(36, s.signo());
        assertEquals(SigInfo.SI_QUEUE, s.code());
        assertEquals(77, s.senderPid());
        assertEquals(0x5eed0001L, s.value());
        assertEquals(s, new SigInfo(s.raw()));
        byte[] raw = s.raw();
        raw[100] = 1;
        assertNotEquals(s, new SigInfo(raw), "every byte counts");
        assertEquals(0, s.raw()[100], "raw() is a copy");
        assertThrows(IllegalArgumentException.class, () -> new SigInfo(new byte[127]));
        assertThrows(IllegalArgumentException.class, () -> new SigInfo(new byte[SigInfo.SIZE]), "signal 0");
    }
}
