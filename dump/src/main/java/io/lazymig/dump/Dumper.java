package io.lazymig.dump;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.Creds;
import io.lazymig.images.ImageDir;
import io.lazymig.images.MmInfo;
import io.lazymig.images.OpenFile;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PagesWriter;
import io.lazymig.images.Registers;
import io.lazymig.images.Rlimit;
import io.lazymig.images.RobustList;
import io.lazymig.images.Rseq;
import io.lazymig.images.SigAction;
import io.lazymig.images.Task;
import io.lazymig.images.UserRegs;
import io.lazymig.images.Vma;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Cpuid;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.SyscallRestart;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig dump}: freezes one process, writes its checkpoint in CRIU's format into a
 * directory, then kills it or lets it run on. Runs entirely on the calling thread, which is
 * the tracer.
 */
public final class Dumper {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    /** What to dump and what to do with the process afterwards. */
    public record Options(int pid, Path dir, boolean leaveRunning, WhileFrozen lazy) {
        public Options(int pid, Path dir, boolean leaveRunning) {
            this(pid, dir, leaveRunning, null);
        }
    }

    /**
     * dump --lazy-pages: the lazy pages are not written; whoever serves them from the frozen process
     * (the command module: a page server, or a migration) runs here, on the tracer thread, with the
     * process still frozen. Returning releases the process as asked (killed, or resumed with
     * --leave-running); throwing resumes it untouched, as after any failed dump.
     */
    @FunctionalInterface
    public interface WhileFrozen {
        /** {@code frozenAtNanos}: System.nanoTime() when the process stopped. */
        void serve(Checkpoint cp, long frozenAtNanos) throws IOException;
    }

    /**
     * What a dump did, for the log line and the benchmark: {@code frozenNanos} until the process was
     * released, {@code steps} from the freeze until the checkpoint was written or ready to serve.
     */
    public record Result(Checkpoint checkpoint, long pages, long lazyPages, long frozenNanos, long pageNanos,
            FrozenSteps steps) {
    }

    private Dumper() {
    }

    public static Result dump(Options o) throws IOException {
        Preflight.check(o.pid());
        Files.createDirectories(o.dir());
        Warmup.run();
        XsaveLayout layout = XsaveLayout.fromCpuid(Cpuid.enabledXfeatures(), Cpuid::query);
        // the page walker and the 8 MiB page buffer are made before the freeze (4.5 ms inside it otherwise)
        try (PageCollector pages = PageCollector.open(o.pid(), SystemInfo.PAGE_SIZE, o.lazy() != null);
             FrozenTask frozen = FrozenTask.freeze(o.pid())) {
            long t0 = frozen.seizedAt();
            FrozenSteps.Clock clock = new FrozenSteps.Clock(t0);
            clock.lap(FrozenSteps.FREEZE);
            Preflight.check(o.pid()); // again, now that nothing can change under us
            clock.lap(FrozenSteps.PREFLIGHT);
            int pid = o.pid();
            Registers regs = registers(pid, restarted(frozen.registers()), layout);
            long sigmask = frozen.sigmask();
            Ptrace.RseqConfiguration rseq = Ptrace.getRseqConfiguration(pid);
            Ptrace.RobustList robust = Ptrace.getRobustList(pid);
            clock.lap(FrozenSteps.REGS);
            long brk;
            List<SigAction> actions;
            try (Injections inj = Injections.open(pid)) {
                brk = inj.brk();
                actions = inj.signalActions();
            }
            clock.lap(FrozenSteps.INJECT);
            List<Vma> vmas = new ArrayList<>();
            for (MapsEntry m : ProcSmaps.read(pid)) {
                vmas.add(VmaClassifier.classify(m));
            }
            clock.lap(FrozenSteps.MAPS);
            ProcStat stat = ProcStat.read(pid);
            ProcStatus status = ProcStatus.read(pid);
            Task task = Task.builder()
                    .pid(pid).pgid(pgid(pid)).sid(sid(pid))
                    .comm(Files.readString(proc(pid, "comm")).strip())
                    .exePath(link(pid, "exe")).cwd(link(pid, "cwd")).root(link(pid, "root"))
                    .umask(status.umask())
                    .creds(creds(status))
                    .personality(Integer.parseInt(Files.readString(proc(pid, "personality")).strip(), 16))
                    .sigmask(sigmask)
                    .rlimits(rlimits(pid))
                    .sigactions(actions)
                    .rseq(rseq.registered()
                            ? new Rseq(rseq.abiPointer(), rseq.abiSize(), rseq.signature(), 0) : Rseq.NONE)
                    .robustList(robust.head() == 0 ? RobustList.NONE : new RobustList(robust.head(), (int) robust.length()))
                    .mm(new MmInfo(stat.startCode(), stat.endCode(), stat.startData(), stat.endData(), stat.startStack(),
                            stat.startBrk(), brk, stat.argStart(), stat.argEnd(), stat.envStart(), stat.envEnd(),
                            ProcAuxv.read(pid)))
                    .build();
            List<OpenFile> files = openFiles(pid);
            clock.lap(FrozenSteps.PROC);

            long tp = System.nanoTime();
            log.debug("dump: state read in {} ms", (tp - t0) / 1_000_000);
            ImageDir images = ImageDir.of(o.dir());
            Pagemap pagemap;
            try (PagesWriter out = images.createPages(1)) {
                pagemap = pages.collect(vmas, regs.user().sp(), Pagemap.builder(1), out);
            }
            long pageNanos = System.nanoTime() - tp;
            clock.lap(FrozenSteps.PAGEMAP, new FrozenSteps.Step(FrozenSteps.READ, pages.readNanos()),
                    new FrozenSteps.Step(FrozenSteps.WRITE, pages.writeNanos()));
            log.debug("dump: {} pages written in {} ms", pages.pages(), pageNanos / 1_000_000);
            Checkpoint cp = new Checkpoint(task, regs, vmas, pagemap, files);
            cp.write(o.dir());
            clock.lap(FrozenSteps.IMAGES);
            FrozenSteps steps = clock.stop();
            log.debug("dump: images written at {} ms", (System.nanoTime() - t0) / 1_000_000);
            log.info("dump: {} ({} pages, pagemap by {})", steps.summary(), pages.pages(), pages.walkerName());
            if (o.lazy() != null) {
                o.lazy().serve(cp, t0);
            }

            if (o.leaveRunning()) {
                frozen.resume();
            } else {
                frozen.kill();
            }
            long frozenNanos = System.nanoTime() - t0;
            log.info("dump: process {}: {} VMAs, {} pages ({} lazy), frozen {} ms", pid, vmas.size(), pages.pages(),
                    pagemap.lazyPages(), frozenNanos / 1_000_000);
            return new Result(cp, pages.pages(), pagemap.lazyPages(), frozenNanos, pageNanos, steps);
        } catch (NativeException e) {
            throw new DumpException("dump of process " + o.pid() + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * The registers as the task would resume with them: stopped inside an interrupted syscall
     * (orig_rax = nr, rax = -ERESTART*), the kernel's restart is applied as CRIU does at dump
     * (rax = nr or restart_syscall, rip back over the syscall instruction, orig_rax = -1). A
     * restorer that sets registers (sigreturn, SETREGS) cannot make the kernel restart anything,
     * so the image must hold this form; SyscallRestart.fixForNewTask is then a no-op on it, and
     * restart_syscall in a new task (no restart block) returns EINTR, as fixForNewTask would.
     */
    private static io.lazymig.jni.Registers restarted(io.lazymig.jni.Registers r) {
        SyscallRestart.fixForSameTask(r);
        return r;
    }

    /** The general registers and the XSAVE area, in the model's terms. */
    private static Registers registers(int pid, io.lazymig.jni.Registers r, XsaveLayout layout) throws IOException {
        List<String> names = io.lazymig.jni.Registers.NAMES;
        long[] v = new long[names.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.get(names.get(i));
        }
        ByteBuffer xs = Ptrace.getXstate(pid);
        byte[] xstate = new byte[xs.remaining()];
        xs.get(xstate);
        return new Registers(UserRegs.fromArray(v), xstate, layout);
    }

    /** The identity the process runs with (securebits are not shown in /proc: 0). */
    static Creds creds(ProcStatus st) throws IOException {
        int[] uid = st.ids("Uid");
        int[] gid = st.ids("Gid");
        return new Creds(uid[0], gid[0], uid[1], gid[1], uid[2], gid[2], uid[3], gid[3], st.capabilities("CapInh"),
                st.capabilities("CapPrm"), st.capabilities("CapEff"), st.capabilities("CapBnd"),
                st.capabilities("CapAmb"), 0, st.groups(), "1".equals(st.get("NoNewPrivs")));
    }

    private static List<Rlimit> rlimits(int pid) throws IOException {
        List<Rlimit> out = new ArrayList<>();
        for (long[] l : ProcLimits.read(pid)) {
            out.add(new Rlimit(l[0], l[1]));
        }
        return out;
    }

    private static List<OpenFile> openFiles(int pid) throws IOException {
        List<OpenFile> out = new ArrayList<>();
        for (int fd : Preflight.openFds(pid)) {
            ProcFdInfo info = ProcFdInfo.read(pid, fd);
            boolean cloexec = (info.flags() & io.lazymig.jni.FileDescriptor.O_CLOEXEC) != 0;
            int flags = info.flags() & ~io.lazymig.jni.FileDescriptor.O_CLOEXEC;
            int sharesWith = OpenFile.OWN;
            for (OpenFile earlier : out) {
                if (earlier.sharesWith() == OpenFile.OWN && SystemInfo.sameOpenFile(pid, earlier.fd(), pid, fd)) {
                    sharesWith = earlier.fd(); // a dup or 2>&1: one offset, restored as one
                    break;
                }
            }
            out.add(new OpenFile(fd, cloexec, Preflight.fdTarget(pid, fd), flags, info.pos(), sharesWith));
        }
        return out;
    }

    private static int pgid(int pid) throws IOException {
        return Integer.parseInt(statField(pid, 5));
    }

    private static int sid(int pid) throws IOException {
        return Integer.parseInt(statField(pid, 6));
    }

    /** proc(5)'s 1-based field n of /proc/PID/stat (n >= 3). */
    private static String statField(int pid, int n) throws IOException {
        String s = Files.readString(proc(pid, "stat"));
        return s.substring(s.lastIndexOf(')') + 1).trim().split("\\s+")[n - 3];
    }

    private static Path proc(int pid, String name) {
        return Path.of("/proc", Integer.toString(pid), name);
    }

    private static String link(int pid, String name) throws IOException {
        return Files.readSymbolicLink(proc(pid, name)).toString();
    }
}
