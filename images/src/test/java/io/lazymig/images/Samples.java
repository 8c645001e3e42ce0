package io.lazymig.images;

import static io.lazymig.images.PagemapIov.PE_LAZY;
import static io.lazymig.images.PagemapIov.PE_PRESENT;
import static io.lazymig.images.Vma.MAP_ANONYMOUS;
import static io.lazymig.images.Vma.MAP_GROWSDOWN;
import static io.lazymig.images.Vma.MAP_PRIVATE;
import static io.lazymig.images.Vma.MAP_SHARED;
import static io.lazymig.images.Vma.PROT_EXEC;
import static io.lazymig.images.Vma.PROT_READ;
import static io.lazymig.images.Vma.PROT_WRITE;
import static io.lazymig.images.Vma.VMA_ANON_PRIVATE;
import static io.lazymig.images.Vma.VMA_AREA_HEAP;
import static io.lazymig.images.Vma.VMA_AREA_REGULAR;
import static io.lazymig.images.Vma.VMA_AREA_VDSO;
import static io.lazymig.images.Vma.VMA_AREA_VSYSCALL;
import static io.lazymig.images.Vma.VMA_AREA_VVAR;
import static io.lazymig.images.Vma.VMA_FILE_PRIVATE;
import static io.lazymig.images.Vma.VMA_FILE_SHARED;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A realistic checkpoint of a small dynamic program, and its page data. */
final class Samples {
    static final int PID = 4242;
    static final String EXE = "/usr/bin/sample";
    static final String LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    static final int ANON_PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS;
    static final int REG_ANON = VMA_AREA_REGULAR | VMA_ANON_PRIVATE;
    static final int REG_FILE = VMA_AREA_REGULAR | VMA_FILE_PRIVATE;
    static final int O_WRONLY = 01;
    static final int O_RDWR = 02;
    static final int O_APPEND = 02000;
    static final int O_LARGEFILE = 0100000;

    private Samples() {
    }

    static List<Vma> vmas() {
        return List.of(
                new Vma(0x555555554000L, 0x555555555000L, PROT_READ, MAP_PRIVATE, REG_FILE, 0, EXE, 0),
                new Vma(0x555555555000L, 0x555555556000L, PROT_READ | PROT_EXEC, MAP_PRIVATE, REG_FILE, 0x1000, EXE, 0),
                new Vma(0x555555557000L, 0x555555558000L, PROT_READ | PROT_WRITE, MAP_PRIVATE, REG_FILE, 0x2000, EXE, 0),
                new Vma(0x555555559000L, 0x55555557a000L, PROT_READ | PROT_WRITE, ANON_PRIVATE, REG_ANON | VMA_AREA_HEAP, 0, null, 0),
                new Vma(0x7ffff7d00000L, 0x7ffff7e00000L, PROT_READ | PROT_WRITE, ANON_PRIVATE, REG_ANON, 0, null, 0),
                new Vma(0x7ffff7e00000L, 0x7ffff7e28000L, PROT_READ, MAP_PRIVATE, REG_FILE, 0, LIBC, 0),
                new Vma(0x7ffff7e28000L, 0x7ffff7e29000L, PROT_READ | PROT_WRITE, MAP_SHARED,
                        VMA_AREA_REGULAR | VMA_FILE_SHARED, 0x3000, "/tmp/shared.dat", 0),
                // [vvar] and [vvar_vclock], then [vdso], as on 6.18 (KERNEL-FACTS §3.2); vvar has MADV_DONTDUMP.
                new Vma(0x7ffff7fc0000L, 0x7ffff7fc4000L, PROT_READ, ANON_PRIVATE, REG_ANON | VMA_AREA_VVAR, 0, null, 1L << 16),
                new Vma(0x7ffff7fc4000L, 0x7ffff7fc6000L, PROT_READ, ANON_PRIVATE, REG_ANON | VMA_AREA_VVAR, 0, null, 1L << 16),
                new Vma(0x7ffff7fc6000L, 0x7ffff7fc8000L, PROT_READ | PROT_EXEC, ANON_PRIVATE, REG_ANON | VMA_AREA_VDSO, 0, null, 0),
                new Vma(0x7ffffffde000L, 0x7ffffffff000L, PROT_READ | PROT_WRITE, ANON_PRIVATE | MAP_GROWSDOWN, REG_ANON, 0, null, 0),
                new Vma(0xffffffffff600000L, 0xffffffffff601000L, PROT_EXEC, ANON_PRIVATE,
                        VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE, 0, null, 0));
    }

    static Pagemap pagemap() {
        return Pagemap.builder(1)
                .add(0x555555557000L, 1, PE_PRESENT)                 // dirty .data page: eager
                .add(0x555555559000L, 4, PE_LAZY | PE_PRESENT)       // heap
                .add(0x7ffff7d00000L, 16, PE_LAZY)                   // lazy only: data at the source
                .add(0x7ffff7d10000L, 2, PE_LAZY | PE_PRESENT)
                .add(0x7ffff7fc6000L, 2, PE_PRESENT)                 // vdso content, as CRIU dumps it
                .add(0x7fffffffb000L, 3, PE_LAZY | PE_PRESENT)       // stack
                .add(0x7fffffffe000L, 1, PE_PRESENT)                 // the stack-pointer page: never lazy
                .build();
    }

    static UserRegs regs() {
        long[] v = new long[UserRegs.COUNT];
        for (int i = 0; i < v.length; i++) {
            v[i] = 0x1111_0000_0000_0000L * (i % 15) + i;
        }
        v[16] = 0x555555555123L; // ip
        v[19] = 0x7fffffffe0a8L; // sp
        v[10] = -516;             // ax: -ERESTART_RESTARTBLOCK
        v[15] = 230;              // orig_ax: clock_nanosleep
        return UserRegs.fromArray(v);
    }

    /** An XSAVE area in the synthetic AMD-style AVX-512 layout (2432 bytes) with random contents and a plausible header. */
    static Registers registers() {
        XsaveLayout layout = SyntheticCpu.amdAvx512();
        byte[] area = new byte[layout.size()];
        new Random(7).nextBytes(area);
        ByteBuffer b = ByteBuffer.wrap(area).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(512, 0xe7L);                               // xstate_bv
        for (int i = 520; i < 576; i++) {
            area[i] = 0;                                     // xcomp_bv and the reserved header bytes
        }
        return new Registers(regs(), area, layout);
    }

    static ProcessState state() {
        List<Rlimit> rlimits = new ArrayList<>();
        for (int i = 0; i < ProcessState.MAX_RLIMITS; i++) {
            rlimits.add(i == 7 ? new Rlimit(1024, 4096) : new Rlimit(Rlimit.INFINITY, Rlimit.INFINITY));
        }
        long[] auxv = {33, 0x7ffff7fc6000L, 16, 0x178bfbffL, 6, 4096, 3, 0x555555554040L, 9, 0x555555555040L, 0, 0};
        MmInfo mm = new MmInfo(0x555555555000L, 0x555555555800L, 0x555555557d10L, 0x555555558010L, 0x7fffffffe3d0L,
                0x555555559000L, 0x55555557a000L, 0x7fffffffe6b1L, 0x7fffffffe6c2L, 0x7fffffffe6c2L, 0x7fffffffefe0L, auxv);
        return ProcessState.builder().pid(PID).pgid(PID).sid(PID).comm("sample").exePath(EXE).cwd("/tmp")
                .root("/").umask(027).personality(0)
                .rlimits(rlimits)
                .sigactions(List.of(
                        new SigAction(10, 0x555555555200L, 0x14000000L, 0x7ffff7e05050L, 0),
                        new SigAction(13, 1, 0x04000000L, 0x7ffff7e05050L, 0),   // SIGPIPE ignored
                        new SigAction(64, 0x555555555300L, 0x04000004L, 0x7ffff7e05050L, 1L << 9)))
                .creds(new Creds(1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 0, 0, 0, Creds.ALL_CAPS, 0, 0,
                        List.of(24, 27, 1000), true))
                .mm(mm)
                .sharedPending(List.of(SigInfo.of(15, SigInfo.SI_USER, 1, 0, 0), SigInfo.of(40, SigInfo.SI_QUEUE, 1, 0, 42)))
                .timers(timers())
                .build();
    }

    /**
     * ITIMER_REAL periodic, ITIMER_PROF one-shot, ITIMER_VIRTUAL disarmed; POSIX timers 0 (SIGUSR1 to
     * the process, CLOCK_MONOTONIC, periodic), 3 (SIGRTMIN+2 to the leader, CLOCK_REALTIME, one
     * overrun) and 7 (SIGEV_NONE, CLOCK_BOOTTIME, disarmed).
     */
    static Timers timers() {
        return new Timers(new IntervalTimer(0, 250_000, 0, 123_456), IntervalTimer.DISARMED,
                new IntervalTimer(0, 0, 2, 5), List.of(
                        new PosixTimer(7, 7, 12, PosixTimer.SIGEV_NONE, 0, 0, 0, 0, 0, 0, 0),
                        new PosixTimer(0, 1, 10, PosixTimer.SIGEV_SIGNAL, 0x5555555592a0L, 0, 0, 0, 100_000_000, 0,
                                42_000_000),
                        new PosixTimer(3, 0, 36, PosixTimer.SIGEV_SIGNAL | PosixTimer.SIGEV_THREAD_ID, 3, PID, 1, 1, 0,
                                0, 999_999_999)));
    }

    /**
     * The leader: SIGUSR2 blocked and pending for it (tgkill), rseq and a robust list registered, an
     * alternate stack that disarms itself, nice 5.
     */
    static ThreadState leader() {
        return new ThreadState(PID, registers(), 1L << (12 - 1), new Rseq(0x7ffff7d7e9e0L, 32, 0x53053053, 0),
                new RobustList(0x7ffff7d7e720L, 24), 0x7ffff7d7ea10L, "sample",
                new SigAltStack(0x7ffff7a00000L, 65536, SigAltStack.SS_AUTODISARM), new Sched(Sched.SCHED_OTHER, 0, 5),
                List.of(SigInfo.of(12, SigInfo.SI_TKILL, 999, 1000, 0)), 0);
    }

    /**
     * A second thread, with its own registers, mask, rseq area and name; SCHED_IDLE at nice 3,
     * running on its alternate stack, two SIGUSR1 queued for it (sigqueue values 7 and 8), SIGTERM
     * on its parent's death.
     */
    static ThreadState worker() {
        return new ThreadState(PID + 1, registers(), 1L << (10 - 1), new Rseq(0x7ffff757d9e0L, 32, 0x53053053, 0),
                new RobustList(0x7ffff757d720L, 24), 0x7ffff757da10L, "worker",
                new SigAltStack(0x7ffff7900000L, 16384, SigAltStack.SS_ONSTACK), new Sched(Sched.SCHED_IDLE, 0, 3),
                List.of(SigInfo.of(34, SigInfo.SI_QUEUE, 999, 1000, 7), SigInfo.of(34, SigInfo.SI_QUEUE, 999, 1000, 8)), 15);
    }

    /** stdin /dev/null; stdout and stderr one terminal description (2>&1); fd 3 a log file. */
    static List<FileObject> files() {
        return List.of(
                new DevNull(1, O_LARGEFILE, 0),
                new Terminal(2, "/dev/pts/3", O_RDWR | O_LARGEFILE, 0),
                new RegularFile(3, "/tmp/sample.log", O_WRONLY | O_APPEND | O_LARGEFILE, 1234));
    }

    static List<FdSlot> fds() {
        return List.of(new FdSlot(0, false, 1), new FdSlot(1, false, 2), new FdSlot(2, false, 2),
                new FdSlot(3, true, 3));
    }

    static ProcessImage process(List<ThreadState> threads) {
        return new ProcessImage(state(), threads, vmas(), pagemap(), fds());
    }

    static Checkpoint checkpoint() {
        return Checkpoint.of(process(List.of(leader())), files());
    }

    /** Deterministic content of the page at {@code address}. */
    static byte[] page(long address) {
        byte[] page = new byte[PagemapIov.PAGE_SIZE];
        new Random(address).nextBytes(page);
        return page;
    }

    /** Writes pages-N.img with the content of every PE_PRESENT page, in pagemap order. */
    static void writePages(Path dir, Pagemap pagemap) throws IOException {
        try (PagesWriter w = ImageDir.of(dir).createPages(pagemap.pagesId())) {
            for (PagemapIov iov : pagemap.iovs()) {
                if (!iov.isPresent()) {
                    continue;
                }
                ByteBuffer data = ByteBuffer.allocateDirect((int) iov.length());
                for (long p = 0; p < iov.nrPages(); p++) {
                    data.put(page(iov.vaddr() + p * PagemapIov.PAGE_SIZE));
                }
                data.flip();
                long offset = w.append(data);
                if (offset != iov.pagesOffset()) {
                    throw new AssertionError("pages written at " + offset + ", iov says " + iov.pagesOffset());
                }
            }
        }
    }

    /** The sample, written with its pages into {@code dir}. */
    static Checkpoint writeSample(Path dir) throws IOException {
        Checkpoint c = checkpoint();
        writePages(dir, c.pagemap());
        c.write(dir);
        return c;
    }
}
