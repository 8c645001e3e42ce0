package io.lazymig.dump;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.IntervalTimer;
import io.lazymig.images.MmInfo;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PosixTimer;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.ProcessState;
import io.lazymig.images.Registers;
import io.lazymig.images.ThreadState;
import io.lazymig.images.Timers;
import io.lazymig.images.UserRegs;
import io.lazymig.images.Vma;
import io.lazymig.images.XsaveLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Writes and reads back a tiny synthetic checkpoint (with timers) before the process is frozen, so class
 * loading and protobuf initialisation (~150 ms on a cold JVM) are paid off the clock instead of
 * while the process stands still.
 */
final class Warmup {
    private Warmup() {
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
            Checkpoint.of(new ProcessImage(state, List.of(ThreadState.plain(1, regs, "warmup")), List.of(vma),
                    Pagemap.builder(1).build(), List.of()), List.of()).write(dir);
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
