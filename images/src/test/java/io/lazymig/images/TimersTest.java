package io.lazymig.images;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lazymig.images.proto.core_entry;
import io.lazymig.images.proto.posix_timer_entry;
import io.lazymig.images.proto.task_core_entry;
import io.lazymig.images.proto.task_timers_entry;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The process's timers in core-PID.img's tc: the codec round trip, the model's rules, bad input. */
class TimersTest {
    @TempDir
    Path dir;

    @Test
    void timersSurviveTheImagesExactly() throws Exception {
        Samples.writeSample(dir);
        Timers read = Checkpoint.read(dir).root().state().timers();
        assertEquals(Samples.timers(), read);
        assertEquals(List.of(0, 3, 7), read.posix().stream().map(PosixTimer::id).toList());
        PosixTimer toThread = read.posix().get(1);
        assertEquals(Samples.PID, toThread.notifyTid());
        assertEquals(3, toThread.sigevValue());
        assertEquals(1, toThread.overrun());
    }

    @Test
    void theLeadersCoreHoldsCriusFieldsAndTheOthersNone() throws Exception {
        Checkpoint c = Checkpoint.of(Samples.process(List.of(Samples.leader(), Samples.worker())), Samples.files());
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        task_timers_entry t = ImageDir.of(dir).readCore(Samples.PID).getTc().getTimers();
        assertEquals(250_000, t.getReal().getIusec());
        assertEquals(123_456, t.getReal().getVusec());
        assertEquals(3, t.getPosixCount());
        posix_timer_entry e = t.getPosix(1);
        assertEquals(3, e.getItId());
        assertEquals(PosixTimer.SIGEV_SIGNAL | PosixTimer.SIGEV_THREAD_ID, e.getItSigevNotify());
        assertEquals(Samples.PID, e.getNotifyThreadId());
        assertEquals(999_999_999, e.getVnsec());
        assertEquals(false, t.getPosix(0).hasNotifyThreadId());
        assertEquals(false, ImageDir.of(dir).readCore(Samples.PID + 1).hasTc());
    }

    @Test
    void aTcWithoutTimersReadsAsNone() {
        task_core_entry tc = task_core_entry.newBuilder().setTaskState(1).setExitCode(0).setPersonality(0).setFlags(0)
                .setBlkSigset(0).setComm("x").build();
        assertEquals(Timers.NONE, TimersCodec.decode(tc));
    }

    @Test
    void aThreadIdOnATimerThatSignalsTheProcessIsIgnored() {
        task_core_entry tc = tcWith(posixEntry(5, PosixTimer.SIGEV_SIGNAL).setNotifyThreadId(77));
        assertEquals(0, TimersCodec.decode(tc).posix().get(0).notifyTid());
    }

    @Test
    void badTimersAreRefusedWithTheirId() {
        assertThat(assertThrows(IllegalArgumentException.class,
                () -> TimersCodec.decode(tcWith(posixEntry(5, PosixTimer.SIGEV_SIGNAL | PosixTimer.SIGEV_THREAD_ID))))
                .getMessage(), containsString("POSIX timer 5: thread 0 does not fit sigev_notify 4"));
        assertThat(assertThrows(IllegalArgumentException.class,
                () -> TimersCodec.decode(tcWith(posixEntry(5, PosixTimer.SIGEV_SIGNAL).setVnsec(1_000_000_000))))
                .getMessage(), containsString("POSIX timer 5: bad times"));
        assertThat(assertThrows(IllegalArgumentException.class,
                () -> TimersCodec.decode(tcWith(posixEntry(5, PosixTimer.SIGEV_SIGNAL).setClockId(-6))))
                .getMessage(), containsString("clock id -6 is not a fixed clock"));
        assertThat(assertThrows(IllegalArgumentException.class,
                () -> TimersCodec.decode(tcWith(posixEntry(-1, PosixTimer.SIGEV_SIGNAL)))).getMessage(),
                containsString("bad POSIX timer id -1"));
        assertThat(assertThrows(IllegalArgumentException.class,
                () -> TimersCodec.decode(tcWith(posixEntry(5, 3)))).getMessage(),
                containsString("sigev_notify 3 is not one the kernel accepts"));
        assertThat(assertThrows(IllegalArgumentException.class,
                () -> new Timers(IntervalTimer.DISARMED, IntervalTimer.DISARMED, IntervalTimer.DISARMED, List.of(
                        new PosixTimer(2, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0), new PosixTimer(2, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0))))
                .getMessage(), containsString("POSIX timer 2 listed twice"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> new IntervalTimer(0, 1_000_000, 0, 0))
                .getMessage(), containsString("bad itimer"));
    }

    @Test
    void aTimerMustSignalAThreadOfItsProcess() {
        ProcessState s = Samples.state();
        ProcessState toStranger = ProcessState.builder().pid(s.pid()).pgid(s.pgid()).sid(s.sid()).comm(s.comm())
                .exePath(s.exePath()).mm(s.mm()).timers(new Timers(IntervalTimer.DISARMED, IntervalTimer.DISARMED,
                        IntervalTimer.DISARMED, List.of(new PosixTimer(1, 1, 10, 4, 0, Samples.PID + 9, 0, 0, 0, 0, 0))))
                .build();
        assertThat(assertThrows(IllegalArgumentException.class, () -> new ProcessImage(toStranger,
                List.of(Samples.leader()), Samples.vmas(), Samples.pagemap(), Samples.fds())).getMessage(),
                containsString("POSIX timer 1 signals thread 4251, which is not one of its threads"));
    }

    @Test
    void aCorruptTimerInTheImageIsAOneLineImageError() throws Exception {
        Samples.writeSample(dir);
        ImageDir d = ImageDir.of(dir);
        core_entry core = d.readCore(Samples.PID);
        task_timers_entry bad = core.getTc().getTimers().toBuilder()
                .setPosix(1, core.getTc().getTimers().getPosix(1).toBuilder().setNotifyThreadId(999)).build();
        d.writeCore(Samples.PID, core.toBuilder().setTc(core.getTc().toBuilder().setTimers(bad)).build());
        assertThat(assertThrows(ImageException.class, () -> Checkpoint.read(dir)).getMessage(),
                containsString("POSIX timer 3 signals thread 999"));
    }

    @Test
    void forRestoreArmsAPeriodicTimerReadAsItFired() {
        assertEquals(new IntervalTimer(0, 5000, 0, 5000), new IntervalTimer(0, 5000, 0, 0).forRestore());
        assertEquals(IntervalTimer.DISARMED, IntervalTimer.DISARMED.forRestore());
        IntervalTimer running = new IntervalTimer(1, 0, 0, 17);
        assertEquals(running, running.forRestore());
    }

    private static task_core_entry tcWith(posix_timer_entry.Builder e) {
        task_timers_entry timers = TimersCodec.encode(Timers.NONE).toBuilder().addPosix(e).build();
        return task_core_entry.newBuilder().setTaskState(1).setExitCode(0).setPersonality(0).setFlags(0)
                .setBlkSigset(0).setComm("x").setTimers(timers).build();
    }

    private static posix_timer_entry.Builder posixEntry(int id, int notify) {
        return posix_timer_entry.newBuilder().setItId(id).setClockId(1).setSiSigno(10).setItSigevNotify(notify)
                .setSivalPtr(0).setOverrun(0).setIsec(0).setInsec(0).setVsec(0).setVnsec(0);
    }
}
