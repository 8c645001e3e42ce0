package io.lazymig.dump;

import io.lazymig.images.CharDevice;
import io.lazymig.images.Checkpoint;
import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import io.lazymig.images.IntervalTimer;
import io.lazymig.images.MmInfo;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PosixTimer;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.ProcessState;
import io.lazymig.images.Registers;
import io.lazymig.images.ThreadState;
import io.lazymig.images.Timerfd;
import io.lazymig.images.Timers;
import io.lazymig.images.UserRegs;
import io.lazymig.images.Vma;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Clocks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Writes and reads back a tiny synthetic checkpoint (with timers and event fds) before the process is frozen, so class
 * loading and protobuf initialisation (~150 ms on a cold JVM) are paid off the clock instead of
 * while the process stands still.
 */
final class Warmup {
    private Warmup() {
    }

    /**
     * One of each event fd kind, read by its reader from an fdinfo text as the kernel prints it (and
     * the clock a timerfd's reader asks), so that their parsers and codecs are warm too.
     */
    private static List<FileObject> eventFds() throws IOException {
        String head = "pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t12\n";
        EventFdKinds.bootId();
        Clocks.nanos(Timerfd.CLOCK_MONOTONIC);
        return List.of(
                EventfdReader.read(1, 2, new FdInfoLines("warmup", head + "eventfd-count: 1\neventfd-semaphore: 0\n")),
                TimerfdReader.read(2, 2, new FdInfoLines("warmup", head + "clockid: 1\nticks: 0\nsettime flags: 00\n"
                        + "it_value: (1, 0)\nit_interval: (0, 1000)\n"), clock -> 0, ""),
                SignalfdReader.read(3, 2, new FdInfoLines("warmup", head + "sigmask:\t0000000000000200\n")),
                InotifyReader.read(4, 2, new FdInfoLines("warmup", head + "inotify wd:1 ino:1 sdev:1 mask:100 "
                        + "ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:0100000000000000\n"), (d, t, h) -> "/"),
                EpollReader.read(5, 2, new FdInfoLines("warmup", head + "tfd:        3 events:       19 data:"
                        + "                1  pos:0 ino:c sdev:10\n")),
                new CharDevice(6, "/dev/urandom", 0, 0));
    }

    static void run() throws IOException {
        Path dir = Files.createTempDirectory("lazymig-warmup");
        try {
            long base = 0x400000;
            ProcessState state = ProcessState.builder().pid(1).comm("warmup").exePath("/warmup")
                    .mm(new MmInfo(base, base + 4096, base, base, base, base, base, base, base, base, base, new long[] {0, 0}))
                    .timers(new Timers(IntervalTimer.DISARMED, IntervalTimer.DISARMED, IntervalTimer.DISARMED,
                            List.of(new PosixTimer(2, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0),
                                    new PosixTimer(1, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0))))
                    .build();
            ProcTimers.parse(List.of("ID: 1", "signal: 10/0000000000000000", "notify: signal/pid.1", "ClockID: 1"));
            Registers regs = new Registers(UserRegs.fromArray(new long[UserRegs.COUNT]), new byte[XsaveLayout.LEGACY_SIZE],
                    XsaveLayout.LEGACY);
            Vma vma = new Vma(base, base + 4096, Vma.PROT_READ, Vma.MAP_PRIVATE | Vma.MAP_ANONYMOUS,
                    Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_PRIVATE, 0, null, 0);
            List<FileObject> files = eventFds();
            List<FdSlot> slots = files.stream().map(f -> new FdSlot(f.id() + 2, true, f.id())).toList();
            Checkpoint.of(new ProcessImage(state, List.of(ThreadState.plain(1, regs, "warmup")), List.of(vma),
                    Pagemap.builder(1).build(), slots), files).write(dir);
            Checkpoint.read(dir);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
