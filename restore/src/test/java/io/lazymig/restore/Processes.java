package io.lazymig.restore;

import io.lazymig.images.FdSlot;
import io.lazymig.images.MmInfo;
import io.lazymig.images.Pagemap;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.ProcessState;
import io.lazymig.images.Registers;
import io.lazymig.images.ThreadState;
import io.lazymig.images.UserRegs;
import io.lazymig.images.XsaveLayout;
import java.util.ArrayList;
import java.util.List;

/** Small process images for restore's tests. */
final class Processes {
    static final int PID = 4242;

    private Processes() {
    }

    static ProcessImage single(List<FdSlot> fds) {
        return withThreads(1, fds);
    }

    /** One thread, with RLIMIT_NOFILE {@code cur}/{@code max} (the other limits infinite). */
    static ProcessImage withNofile(long cur, long max, List<FdSlot> fds) {
        ProcessImage p = single(fds);
        List<io.lazymig.images.Rlimit> limits = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            limits.add(i == ParkedStdio.RLIMIT_NOFILE ? new io.lazymig.images.Rlimit(cur, max)
                    : new io.lazymig.images.Rlimit(io.lazymig.images.Rlimit.INFINITY, io.lazymig.images.Rlimit.INFINITY));
        }
        ProcessState s = p.state();
        ProcessState state = ProcessState.builder().pid(PID).pgid(PID).sid(PID).comm("test").exePath("/bin/test")
                .mm(s.mm()).rlimits(limits).build();
        return new ProcessImage(state, p.threads(), p.vmas(), p.pagemap(), fds);
    }

    /** A process with {@code n} threads (tids PID, PID+1, ...) and no memory. */
    static ProcessImage withThreads(int n, List<FdSlot> fds) {
        long base = 0x400000;
        ProcessState state = ProcessState.builder().pid(PID).pgid(PID).sid(PID).comm("test").exePath("/bin/test")
                .mm(new MmInfo(base, base, base, base, base, base, base, base, base, base, base, new long[] {0, 0}))
                .build();
        Registers regs = new Registers(UserRegs.fromArray(new long[UserRegs.COUNT]), new byte[XsaveLayout.LEGACY_SIZE],
                XsaveLayout.LEGACY);
        List<ThreadState> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            threads.add(ThreadState.plain(PID + i, regs, "test"));
        }
        return new ProcessImage(state, threads, List.of(), Pagemap.builder(1).build(), fds);
    }
}
