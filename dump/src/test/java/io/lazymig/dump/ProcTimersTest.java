package io.lazymig.dump;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lazymig.images.PosixTimer;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** /proc/PID/timers as this kernel (6.18) prints it, and the timers dump refuses. */
class ProcTimersTest {
    /** Printed for three timers made by a probe on this kernel: newest first, the value in hex. */
    private static final List<String> THREE = List.of(
            "ID: 43", "signal: 12/0000000000001234", "notify: none/pid.16022", "ClockID: 7",
            "ID: 42", "signal: 12/00007f00deadbeef", "notify: signal/tid.16023", "ClockID: 0",
            "ID: 0", "signal: 10/0000000000000000", "notify: signal/pid.16022", "ClockID: 1");

    @Test
    void everyKindOfNotifyWithItsTargetAndValue() throws IOException {
        List<ProcTimers.Entry> e = ProcTimers.parse(THREE);
        assertEquals(List.of(
                new ProcTimers.Entry(43, 12, 0x1234, PosixTimer.SIGEV_NONE, 0, 7),
                new ProcTimers.Entry(42, 12, 0x7f00deadbeefL, PosixTimer.SIGEV_SIGNAL | PosixTimer.SIGEV_THREAD_ID,
                        16023, 0),
                new ProcTimers.Entry(0, 10, 0, PosixTimer.SIGEV_SIGNAL, 0, 1)), e);
    }

    @Test
    void noTimersIsAnEmptyFile() throws IOException {
        assertEquals(List.of(), ProcTimers.parse(List.of()));
    }

    @Test
    void garbageIsAnIoErrorNotACrash() {
        assertThrows(IOException.class, () -> ProcTimers.parse(THREE.subList(0, 3)));
        assertThrows(IOException.class, () -> ProcTimers.parse(List.of("ID: 1", "signal: 10", "notify: signal/pid.1",
                "ClockID: 1")));
        assertThrows(IOException.class, () -> ProcTimers.parse(List.of("ID: 1", "signal: 10/0", "notify: bell/pid.1",
                "ClockID: 1")));
        assertThrows(IOException.class, () -> ProcTimers.parse(List.of("Id: 1", "signal: 10/0", "notify: none/pid.1",
                "ClockID: 1")));
    }

    @Test
    void cpuClocksOfOneThreadOrProcessAreRefused() {
        assertThat(assertThrows(DumpException.class, () -> TimersReader.refuseUnsupported(7,
                new ProcTimers.Entry(2, 10, 0, 0, 0, -6))).getMessage(),
                containsString("process 7: POSIX timer 2 runs on the CPU clock of a given process or thread (clock id -6)"));
        assertThat(assertThrows(DumpException.class, () -> TimersReader.refuseUnsupported(7,
                new ProcTimers.Entry(2, 10, 0, 0, 0, 3))).getMessage(),
                containsString("CLOCK_THREAD_CPUTIME_ID"));
    }
}
