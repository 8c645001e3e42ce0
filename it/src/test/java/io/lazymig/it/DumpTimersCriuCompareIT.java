package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.images.ImageDir;
import io.lazymig.images.proto.itimer_entry;
import io.lazymig.images.proto.posix_timer_entry;
import io.lazymig.images.proto.task_timers_entry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The timers lazymig dumps are the ones the real CRIU (4.1.1, through criu-reference) dumps: the
 * same process (it/workloads/restore-threads8.c: the three itimers, POSIX timers 1 SIGEV_THREAD_ID with
 * a sigev value, 2 SIGEV_SIGNAL, 3 SIGEV_NONE), held still by SIGSTOP, dumped by lazymig and then
 * by CRIU (both --leave-running): core.img's tc.timers are equal field by field, except the time
 * left, which runs on while the process is stopped: for the one-shot SIGEV_NONE timer lazymig,
 * which dumps first, read at least what CRIU read. Skipped (with the probe's reason) where the
 * reference cannot run.
 */
class DumpTimersCriuCompareIT {
    private static Path tool;

    @TempDir
    Path dir;

    @BeforeEach
    @Timeout(value = 20, unit = TimeUnit.MINUTES)
    void referenceRuns() throws Exception {
        tool = CriuReference.assumeRuns();
    }

    @Test
    @Timeout(120)
    void sameTimersAsCriu() throws Exception {
        Path ours = dir.resolve("ours");
        Path theirs = dir.resolve("theirs");
        Files.createDirectories(theirs);
        try (RestoreWorkload w = RestoreWorkload.cInOwnSession(dir, "restore-threads8", "16", "100")) {
            w.awaitLine("counter 1", l -> l.counter() >= 1);
            Map<Long, String> threads = RestoreThreadsIT.threadNames(w.pid);
            RestoreEagerIT.kill(w.pid, "STOP");
            awaitStopped(w.pid);
            LazymigCli.Result r = LazymigCli.run("dump", "-t", Integer.toString(w.pid), "-D", ours.toString(),
                    "--leave-running");
            assertEquals(0, r.exit(), r.toString());
            CriuReference.Result c = CriuReference.run(tool, 60, "criu", "dump", "-t", Integer.toString(w.pid), "-D",
                    theirs.toString(), "--leave-running", "--shell-job", "-v4", "-o", "dump.log");
            if (c.exit() != 0) {
                fail("criu dump failed (exit " + c.exit() + "): " + c.output());
            }
            task_timers_entry a = ImageDir.of(ours).readCore(w.pid).getTc().getTimers();
            task_timers_entry b = ImageDir.of(theirs).readCore(w.pid).getTc().getTimers();
            assertEquals(withoutTimeLeft(b), withoutTimeLeft(a), "tc.timers but the time left: CRIU's against lazymig's");
            assertEquals(3, a.getPosixCount(), a.toString());
            assertEquals(10_000, a.getReal().getIusec());
            assertEquals(100_000, a.getVirt().getIusec());
            assertEquals(50_000, a.getProf().getIusec());
            long target = threads.entrySet().stream().filter(e -> e.getValue().equals("target")).findFirst()
                    .orElseThrow().getKey();
            assertEquals(target, a.getPosix(0).getNotifyThreadId());
            posix_timer_entry quietOurs = a.getPosix(2);
            posix_timer_entry quietCriu = b.getPosix(2);
            assertTrue(nanos(quietOurs) >= nanos(quietCriu) && nanos(quietCriu) > 0, "the SIGEV_NONE timer's time left: "
                    + nanos(quietOurs) + " ns read by lazymig, then " + nanos(quietCriu) + " ns by CRIU");
            RestoreEagerIT.kill(w.pid, "CONT");
        }
    }

    static void awaitStopped(int pid) throws Exception {
        long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000L;
        while (System.nanoTime() < end) {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            if (stat.charAt(stat.lastIndexOf(')') + 2) == 'T') {
                return;
            }
            Thread.sleep(5);
        }
        fail("process " + pid + " did not stop after SIGSTOP");
    }

    private static long nanos(posix_timer_entry e) {
        return e.getVsec() * 1_000_000_000L + e.getVnsec();
    }

    private static task_timers_entry withoutTimeLeft(task_timers_entry t) {
        task_timers_entry.Builder b = t.toBuilder().setReal(withoutTimeLeft(t.getReal()))
                .setVirt(withoutTimeLeft(t.getVirt())).setProf(withoutTimeLeft(t.getProf()));
        for (int i = 0; i < t.getPosixCount(); i++) {
            b.setPosix(i, t.getPosix(i).toBuilder().setVsec(0).setVnsec(0));
        }
        return b.build();
    }

    private static itimer_entry withoutTimeLeft(itimer_entry e) {
        return e.toBuilder().setVsec(0).setVusec(0).build();
    }
}
