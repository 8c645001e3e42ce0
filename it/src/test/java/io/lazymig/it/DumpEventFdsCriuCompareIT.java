package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.images.ImageDir;
import io.lazymig.images.proto.eventpoll_tfd_entry;
import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.fdinfo_entry;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.inotify_wd_entry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The event fds lazymig dumps are the entries the real CRIU (4.1.1, through criu-reference) writes
 * for the same process (it/workloads/restore-eventfds.c), held still by SIGSTOP once its periodic
 * timer has expired (it then waits, unread, for the process), dumped by lazymig and then by CRIU (both
 * --leave-running): fd by fd, the files.img entries have the same type and CRIU's fields are equal
 * (eventfd counter and flags; timerfd clock, ticks, settime flags, interval; signalfd mask; inotify
 * watches with their inode, device, masks, descriptors and file handles; epoll watches with their fd,
 * events and data; the char devices by name, flags and mode) but the timers' time left: the idle
 * ABSTIME timer's runs on (lazymig, which dumps first, read at least what CRIU read), and of the
 * expired periodic timer CRIU writes none (it then restores it disarmed: the process's timer stops
 * after one read) where lazymig writes one interval. crit of the same
 * CRIU decodes our files.img. Skipped (with the probe's reason) where the reference cannot run.
 */
class DumpEventFdsCriuCompareIT {
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
    void sameEntriesAsCriu() throws Exception {
        Path ours = dir.resolve("ours");
        Path theirs = dir.resolve("theirs");
        Files.createDirectories(theirs);
        Path watched = Files.createDirectories(dir.resolve("watched"));
        try (RestoreWorkload w = RestoreWorkload.cInOwnSession(dir, "restore-eventfds", "4", "50", watched.toString())) {
            w.awaitLine("counter 1", l -> l.counter() >= 1);
            RestoreEagerIT.kill(w.pid, "STOP");
            awaitExpiredTimer(w.pid);
            LazymigCli.Result r = LazymigCli.run("dump", "-t", Integer.toString(w.pid), "-D", ours.toString(),
                    "--leave-running");
            assertEquals(0, r.exit(), r.toString());
            CriuReference.Result c = CriuReference.run(tool, 60, "criu", "dump", "-t", Integer.toString(w.pid), "-D",
                    theirs.toString(), "--leave-running", "--shell-job", "-v4", "-o", "dump.log");
            if (c.exit() != 0) {
                fail("criu dump failed (exit " + c.exit() + "): " + c.output());
            }
            Map<Integer, file_entry> a = byFd(ours, w.pid);
            Map<Integer, file_entry> b = byFd(theirs, w.pid);
            for (int fd = 3; fd <= 12; fd++) {
                file_entry mine = a.get(fd);
                file_entry criu = b.get(fd);
                assertEquals(criu.getType(), mine.getType(), "fd " + fd + ": " + criu + " against " + mine);
                assertEquals(comparable(criu), comparable(mine), "fd " + fd + " (" + mine.getType() + "), CRIU's then ours");
            }
            // the periodic timer expired, its tick unread: CRIU writes the time left fdinfo shows (none, and
            // restores it disarmed), lazymig one interval (and restores it running)
            assertEquals(0, nanos(b.get(6)), "CRIU's time left of the expired periodic timer");
            assertEquals(50_000_000, nanos(a.get(6)), "lazymig's: one interval");
            long leftOurs = nanos(a.get(9));
            long leftCriu = nanos(b.get(9));
            assertTrue(leftOurs >= leftCriu && leftCriu > 0, "the ABSTIME timer's time left: " + leftOurs
                    + " ns read by lazymig, then " + leftCriu + " ns by CRIU");
            RestoreEagerIT.kill(w.pid, "CONT");
            Crit.summarize(CriuReference.crit(tool), ours);
        }
    }

    /** Waits until the periodic timerfd (fd 6) has expired: its tick then waits for the stopped process. */
    private static void awaitExpiredTimer(int pid) throws Exception {
        Path info = Path.of("/proc", Integer.toString(pid), "fdinfo", "6");
        long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000L;
        while (System.nanoTime() < end) {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            if (stat.charAt(stat.lastIndexOf(')') + 2) == 'T' && !Files.readString(info).contains("ticks: 0\n")) {
                return;
            }
            Thread.sleep(5);
        }
        fail("process " + pid + " did not stop with its timer expired: " + Files.readString(info));
    }

    private static Map<Integer, file_entry> byFd(Path images, int pid) throws Exception {
        ImageDir d = ImageDir.of(images);
        Map<Integer, file_entry> files = new TreeMap<>();
        for (file_entry f : d.readFiles()) {
            files.put(f.getId(), f);
        }
        Map<Integer, file_entry> out = new TreeMap<>();
        for (fdinfo_entry e : d.readFdinfo(d.readIds(pid).getFilesId())) {
            out.put(e.getFd(), files.get(e.getId()));
        }
        return out;
    }

    /** CRIU's fields of an entry, without ids, owners, lazymig's own fields, and an ABSTIME timer's time left. */
    private static String comparable(file_entry e) {
        return switch (e.getType()) {
            case EVENTFD -> "flags " + e.getEfd().getFlags() + " counter " + e.getEfd().getCounter();
            case TIMERFD -> "flags " + e.getTfd().getFlags() + " clock " + e.getTfd().getClockid() + " ticks "
                    + e.getTfd().getTicks() + " settime " + e.getTfd().getSettimeFlags() + " interval "
                    + e.getTfd().getIsec() + "." + e.getTfd().getInsec();
            case SIGNALFD -> "flags " + e.getSgfd().getFlags() + " mask " + e.getSgfd().getSigmask();
            case INOTIFY -> "flags " + e.getIfy().getFlags() + " " + e.getIfy().getWdList().stream()
                    .sorted(Comparator.comparingInt(inotify_wd_entry::getWd)).map(DumpEventFdsCriuCompareIT::watch).toList();
            case EVENTPOLL -> "flags " + e.getEpfd().getFlags() + " " + e.getEpfd().getTfdList().stream()
                    .sorted(Comparator.comparingInt(eventpoll_tfd_entry::getTfd))
                    .map(t -> t.getTfd() + ":" + Integer.toHexString(t.getEvents()) + ":" + Long.toHexString(t.getData()))
                    .toList();
            case REG -> e.getReg().getName() + " flags " + e.getReg().getFlags() + " pos " + e.getReg().getPos()
                    + " mode " + Integer.toOctalString(e.getReg().getMode());
            default -> e.toString();
        };
    }

    private static String watch(inotify_wd_entry w) {
        List<Long> handle = w.getFHandle().getHandleList().subList(0, (w.getFHandle().getBytes() + 7) / 8);
        return "wd " + w.getWd() + " ino " + w.getIIno() + " dev " + Integer.toHexString(w.getSDev()) + " mask "
                + Integer.toHexString(w.getMask()) + " ignored " + Integer.toHexString(w.getIgnoredMask()) + " handle "
                + w.getFHandle().getBytes() + "/" + w.getFHandle().getType() + "/" + handle;
    }

    private static long nanos(file_entry e) {
        assertEquals(fd_types.TIMERFD, e.getType());
        return e.getTfd().getVsec() * 1_000_000_000L + e.getTfd().getVnsec();
    }
}
