package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.CharDevice;
import io.lazymig.images.Checkpoint;
import io.lazymig.images.Epoll;
import io.lazymig.images.EpollWatch;
import io.lazymig.images.Eventfd;
import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import io.lazymig.images.Inotify;
import io.lazymig.images.Signalfd;
import io.lazymig.images.Timerfd;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An event loop (it/workloads/restore-eventfds.c): epoll over an eventfd (edge-triggered), a periodic
 * timerfd, a signalfd for SIGUSR1 and an inotify watch, plus a semaphore eventfd, two idle ABSTIME
 * timerfds and /dev/zero, /dev/urandom; dumped and restored eagerly and lazily. The checkpoint holds
 * each with what the kernel showed; after restore the epoll watches the same fds with the same events
 * and data (fdinfo), the eventfd holds exactly what was written (checked by the workload every 7th
 * tick, one check after restore at least), the semaphore eventfd still gives 1 per read, the timer
 * keeps firing at its interval, a SIGUSR1 sent after restore arrives through the signalfd, a file
 * created after restore arrives through the inotify watch, each with its original epoll data; the
 * ABSTIME timers keep their absolute expiry (both clocks: the restore runs on the same boot), and the
 * memory checksum is unchanged throughout. The inotify watch is descriptor 2 (1 was removed): restore
 * gets it back by skipping 1, and the IN_IGNORED event that makes never reaches the process.
 */
class RestoreEventFdsIT {
    private static final long BASE = 0x123456789L;
    private static final int EPOLLIN = 0x1;
    private static final int EPOLLET = 1 << 31;
    /** The ABSTIME expiries read by the workload, clock now plus time left in ms, may differ by rounding only. */
    private static final long ABS_SLACK_MS = 50;

    @TempDir
    Path dir;

    @Test
    @Timeout(180)
    void eagerly() throws Exception {
        try (RestoreCycle c = cycle()) {
            Before b = dump(c);
            c.restore();
            assertGoesOn(c, b);
            c.killRestoredAndAwaitRestore();
        }
    }

    @Test
    @Timeout(180)
    void lazily() throws Exception {
        try (RestoreCycle c = cycle()) {
            Before b = dump(c);
            assertTrue(Checkpoint.read(c.images).pagemap().lazyPages() > 4096, "16 MiB should be lazy");
            RestoreLauncher.Running daemon = c.restoreFromLocalDaemon();
            c.restore.awaitLog("restore: process " + c.pid() + " running after");
            assertGoesOn(c, b);
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertTrue(daemon.log().contains("every page is in"), daemon.log());
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * Events queued on the inotify fd at dump are not part of the checkpoint: dump says so in a
     * warning naming the process and fd. Here the process is held still by SIGSTOP while a file is
     * created, dumped with --leave-running, and reads the event once continued (it was not consumed).
     */
    @Test
    @Timeout(120)
    void queuedInotifyEventsAreNamedAtDump() throws Exception {
        Path watched = Files.createDirectories(dir.resolve("watched"));
        try (RestoreWorkload w = RestoreWorkload.c(dir, "restore-eventfds", "4", "50", watched.toString())) {
            w.awaitLine("counter 1", l -> l.counter() >= 1);
            RestoreEagerIT.kill(w.pid, "STOP");
            DumpTimersCriuCompareIT.awaitStopped(w.pid);
            Files.writeString(watched.resolve("queued-at-dump"), "");
            LazymigCli.Result r = LazymigCli.run("dump", "-t", Integer.toString(w.pid), "-D", dir.resolve("img").toString(),
                    "--leave-running");
            assertEquals(0, r.exit(), r.toString());
            assertTrue((r.stdout() + r.stderr()).contains("process " + w.pid + " fd 8 (inotify) has events queued: they "
                    + "are lost"), r.toString());
            RestoreEagerIT.kill(w.pid, "CONT");
            w.awaitRaw("created queued-at-dump");
        }
    }

    private RestoreCycle cycle() throws IOException, InterruptedException {
        Path watched = Files.createDirectories(dir.resolve("watched"));
        return new RestoreCycle(dir, RestoreWorkload.c(dir, "restore-eventfds", "16", "50", watched.toString()));
    }

    /** What the process showed before the dump: its epoll's and timerfd's fdinfo lines, its last line. */
    private record Before(List<String> epollWatches, List<String> timerfdLines, RestoreWorkload.Line last) {
    }

    private Before dump(RestoreCycle c) throws Exception {
        RestoreWorkload w = c.workload;
        w.awaitLine("counter 9 (an eventfd check done)", l -> l.counter() >= 9 && l.number("efd_checks") >= 1);
        Path watched = dir.resolve("watched");
        Files.writeString(watched.resolve("before-dump"), "");
        w.awaitRaw("created before-dump");
        SignalsAndFds fds = SignalsAndFds.of(c.pid());
        List<String> epoll = fds.epollWatches();
        List<String> timer = fds.periodicTimer();
        c.dump(12, true);
        Checkpoint cp = Checkpoint.read(c.images);
        List<FileObject> files = filesByFd(cp);
        Epoll ep = (Epoll) files.get(3);
        assertEquals(List.of(new EpollWatch(4, EPOLLIN | EPOLLET, 0x1111), new EpollWatch(6, EPOLLIN, 0x2222),
                new EpollWatch(7, EPOLLIN, 0x3333), new EpollWatch(8, EPOLLIN, 0x4444)),
                ep.watches().stream().map(x -> new EpollWatch(x.fd(), x.events() & (EPOLLIN | EPOLLET), x.data())).toList(),
                "the epoll's watches: fds, events (EPOLLET kept), data");
        Eventfd efd = assertInstanceOf(Eventfd.class, files.get(4));
        assertTrue(Long.compareUnsigned(efd.counter(), BASE) >= 0, "the eventfd's counter, above 2^32: " + efd);
        assertFalse(efd.semaphore());
        Eventfd sem = assertInstanceOf(Eventfd.class, files.get(5));
        assertTrue(sem.semaphore(), "EFD_SEMAPHORE");
        Timerfd t = assertInstanceOf(Timerfd.class, files.get(6));
        assertEquals(Timerfd.CLOCK_MONOTONIC, t.clockId());
        assertEquals(50_000_000, t.intervalNsec());
        Signalfd s = assertInstanceOf(Signalfd.class, files.get(7));
        assertEquals(1L << (10 - 1), s.sigmask(), "SIGUSR1");
        Inotify in = assertInstanceOf(Inotify.class, files.get(8));
        assertEquals(1, in.watches().size());
        assertEquals(watched.toString(), in.watches().get(0).path());
        assertEquals(2, in.watches().get(0).wd(), "descriptor 1 was made and removed: restore skips it");
        assertEquals(0x100, in.watches().get(0).mask(), "IN_CREATE");
        Timerfd rt = assertInstanceOf(Timerfd.class, files.get(9));
        assertTrue(rt.isAbsolute() && rt.clockId() == Timerfd.CLOCK_REALTIME, rt.toString());
        Timerfd mono = assertInstanceOf(Timerfd.class, files.get(10));
        assertTrue(mono.isAbsolute() && mono.clockId() == Timerfd.CLOCK_MONOTONIC, mono.toString());
        assertEquals(new CharDevice(files.get(11).id(), "/dev/zero", 0100000, 0), files.get(11));
        assertInstanceOf(CharDevice.class, files.get(12));
        return new Before(epoll, timer, w.lines().get((int) c.lastBefore));
    }

    private void assertGoesOn(RestoreCycle c, Before b) throws Exception {
        RestoreWorkload w = c.workload;
        c.awaitRestoredLine();
        SignalsAndFds after = SignalsAndFds.of(c.pid());
        assertEquals(b.epollWatches(), after.epollWatches(), "the epoll watches the same fds, events and data");
        assertEquals(b.timerfdLines(), after.periodicTimer(), "the timerfd's clock and interval");
        c.assertSameProcState();

        SystemInfo.kill(c.pid(), SystemInfo.SIGUSR1);
        Files.writeString(dir.resolve("watched").resolve("after-restore"), "");
        RestoreWorkload.Line last = b.last();
        RestoreWorkload.Line l = w.awaitLine("the signal, the file, an eventfd check and 4 ticks after restore",
                x -> x.number("usr1") == last.number("usr1") + 1 && x.number("created") == last.number("created") + 1
                        && x.number("efd_checks") >= last.number("efd_checks") + 1 && x.number("ticks") >= last.number("ticks") + 4);
        w.awaitRaw("created after-restore");
        assertEquals(50, l.number("ival"), "the timer's interval");
        assertTrue(l.number("sem_reads") > last.number("sem_reads"), "the semaphore eventfd reads on");
        assertTrue(l.number("devreads") > last.number("devreads"), "/dev/zero and /dev/urandom read on");
        assertTrue(Math.abs(l.number("rtabs") - last.number("rtabs")) <= ABS_SLACK_MS,
                "CLOCK_REALTIME ABSTIME expiry kept: " + last.number("rtabs") + " then " + l.number("rtabs"));
        assertTrue(Math.abs(l.number("monoabs") - last.number("monoabs")) <= ABS_SLACK_MS,
                "CLOCK_MONOTONIC ABSTIME expiry kept on the same boot: " + last.number("monoabs") + " then "
                        + l.number("monoabs"));
        for (RestoreWorkload.Line x : w.lines()) {
            assertEquals(0, x.number("wrong"), "an event with unknown data or a failed check: " + x.raw());
        }
        assertFalse(w.text().contains("MISMATCH"), w.text());
        c.assertOneContinuousRun(c.pid());
    }

    /** The checkpoint's files by fd number. */
    private static List<FileObject> filesByFd(Checkpoint cp) {
        Map<Integer, FileObject> byFd = new TreeMap<>();
        for (FdSlot s : cp.root().fds()) {
            byFd.put(s.fd(), cp.file(s.fileId()));
        }
        List<FileObject> out = new ArrayList<>();
        for (int fd = 0; fd <= byFd.keySet().stream().mapToInt(i -> i).max().orElse(0); fd++) {
            out.add(byFd.get(fd));
        }
        return out;
    }

    /** The workload's epoll (fd 3) and periodic timerfd (fd 6) as fdinfo shows them. */
    private record SignalsAndFds(String epoll, String timer) {
        static SignalsAndFds of(int pid) throws IOException {
            Path info = Path.of("/proc", Integer.toString(pid), "fdinfo");
            return new SignalsAndFds(Files.readString(info.resolve("3")), Files.readString(info.resolve("6")));
        }

        /** "tfd: N events: X data: Y", sorted (the pos/ino/sdev fields dropped). */
        List<String> epollWatches() {
            return epoll.lines().filter(l -> l.startsWith("tfd:")).map(l -> {
                String[] f = l.trim().split("\\s+");
                return String.join(" ", f[0], f[1], f[2], f[3], f[4], f[5]);
            }).sorted().collect(Collectors.toList());
        }

        List<String> periodicTimer() {
            return timer.lines().filter(l -> l.startsWith("clockid:") || l.startsWith("it_interval:")
                    || l.startsWith("settime flags:")).toList();
        }
    }
}
