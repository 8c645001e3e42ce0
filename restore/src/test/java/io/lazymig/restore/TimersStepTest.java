package io.lazymig.restore;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lazymig.images.IntervalTimer;
import io.lazymig.images.PosixTimer;
import io.lazymig.images.Timers;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** POSIX timers recreated with their ids (by the prctl, or in order without it) and every timer armed as dumped. */
class TimersStepTest {
    private static final int LEADER = 100;
    private static final int WORKER = 103;
    /** The checkpoint's threads restored under other tids (--any-pid). */
    private static final Map<Integer, Integer> MOVED = Map.of(LEADER, 500, WORKER, 507);

    private static final PosixTimer TO_PROCESS = new PosixTimer(0, 1, 10, PosixTimer.SIGEV_SIGNAL, 0x1234, 0, 2, 0,
            50_000_000, 0, 7_000_000);
    private static final PosixTimer TO_WORKER = new PosixTimer(5, 0, 34, PosixTimer.SIGEV_SIGNAL
            | PosixTimer.SIGEV_THREAD_ID, 77, WORKER, 0, 1, 0, 0, 300);
    private static final PosixTimer QUIET = new PosixTimer(9, 7, 0, PosixTimer.SIGEV_NONE, 0, 0, 0, 0, 0, 0, 0);

    @Test
    void withThePrctlEachTimerGetsItsIdAndThePrctlIsOffAfter() throws Exception {
        FakeTimerKernel k = new FakeTimerKernel(true);
        TimersStep.create(k, List.of(TO_PROCESS, TO_WORKER, QUIET), MOVED);
        assertEquals(List.of(0, 5, 9), List.copyOf(k.timers.keySet()));
        assertFalse(k.restoreIdsOn(), "left on, the program's own timer_create would read *timerid");
        assertEquals(List.of("prctl " + SystemInfo.PR_TIMER_CREATE_RESTORE_IDS_ON, "timer_create 0", "timer_create 5",
                "timer_create 9", "prctl " + SystemInfo.PR_TIMER_CREATE_RESTORE_IDS_OFF), k.calls);
        FakeTimerKernel.Timer w = k.timers.get(5);
        assertEquals(507, w.tid(), "the signal goes to the thread restored for the worker");
        assertEquals(34, w.signo());
        assertEquals(77, w.value());
        assertEquals(PosixTimer.SIGEV_SIGNAL | PosixTimer.SIGEV_THREAD_ID, w.sigevNotify());
        assertEquals(0, w.clock());
        assertEquals(0x1234, k.timers.get(0).value());
        assertEquals(1, k.timers.get(0).clock());
        assertEquals(PosixTimer.SIGEV_NONE, k.timers.get(9).sigevNotify());
        assertEquals(7, k.timers.get(9).clock());
    }

    @Test
    void withoutThePrctlTimersAreMadeInOrderAndTheIdsBetweenDeleted() throws Exception {
        FakeTimerKernel k = new FakeTimerKernel(false);
        TimersStep.create(k, List.of(TO_PROCESS, TO_WORKER, QUIET), MOVED);
        assertEquals(List.of(0, 5, 9), List.copyOf(k.timers.keySet()));
        assertEquals(List.of("timer_create 1", "timer_delete 1", "timer_create 2", "timer_delete 2"),
                k.calls.subList(2, 6));
        assertEquals(507, k.timers.get(5).tid());
    }

    @Test
    void withoutThePrctlAnIdAlreadyPassedIsRefused() {
        FakeTimerKernel k = new FakeTimerKernel(false);
        k.skipTo(3);
        assertThat(assertThrows(RestoreException.class, () -> TimersStep.create(k, List.of(TO_PROCESS), MOVED))
                .getMessage(), containsString("cannot recreate POSIX timer 0 of process 4242: this kernel has no "
                + "PR_TIMER_CREATE_RESTORE_IDS (Linux 6.17) and hands out id 3 already"));
        assertEquals(List.of(), List.copyOf(k.timers.keySet()), "the timer made with the wrong id is deleted");
    }

    @Test
    void aTimerOfAThreadNotRestoredIsRefused() {
        FakeTimerKernel k = new FakeTimerKernel(true);
        assertThat(assertThrows(RestoreException.class, () -> TimersStep.create(k, List.of(TO_WORKER),
                Map.of(LEADER, LEADER))).getMessage(), containsString("POSIX timer 5 signals thread 103"));
        assertFalse(k.restoreIdsOn());
    }

    @Test
    void noTimersNoSyscalls() throws Exception {
        FakeTimerKernel k = new FakeTimerKernel(true);
        TimersStep.create(k, List.of(), MOVED);
        ArmTimersStep.arm(k, Timers.NONE);
        assertEquals(List.of(), k.calls);
    }

    @Test
    void armingSetsTheTimeLeftAtDumpAndSkipsDisarmedTimers() throws Exception {
        FakeTimerKernel k = new FakeTimerKernel(true);
        TimersStep.create(k, List.of(TO_PROCESS, TO_WORKER, QUIET), MOVED);
        k.calls.clear();
        Timers t = new Timers(new IntervalTimer(0, 20_000, 0, 1_234), IntervalTimer.DISARMED,
                new IntervalTimer(0, 500, 0, 0), List.of(TO_PROCESS, TO_WORKER, QUIET));
        ArmTimersStep.arm(k, t);
        assertEquals(List.of("setitimer " + Syscalls.ITIMER_REAL, "setitimer " + Syscalls.ITIMER_PROF,
                "timer_settime 0", "timer_settime 5"), k.calls);
        assertArrayEquals(new long[] {0, 20_000, 0, 1_234}, k.itimers.get(Syscalls.ITIMER_REAL));
        assertArrayEquals(new long[] {0, 500, 0, 500}, k.itimers.get(Syscalls.ITIMER_PROF),
                "a periodic timer read as it fired is armed with its interval");
        assertArrayEquals(new long[] {0, 50_000_000, 0, 7_000_000}, k.timers.get(0).armed());
        assertArrayEquals(new long[] {1, 0, 0, 300}, k.timers.get(5).armed());
    }
}
