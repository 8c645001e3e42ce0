package io.lazymig.dump;

import io.lazymig.images.CarriedFile;
import io.lazymig.images.Checkpoint;
import io.lazymig.images.FileLock;
import io.lazymig.images.ImageDir;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PagesWriter;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.ProcessState;
import io.lazymig.images.SigAction;
import io.lazymig.images.ThreadState;
import io.lazymig.images.Timers;
import io.lazymig.images.Vma;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Cpuid;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
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

    /**
     * What to dump and what to do with the process afterwards. {@code carryLimit}: the regular files
     * the process has open or mapped of at most this many bytes travel with the images, for restore
     * to recreate where they are missing (0: none; {@link #DEFAULT_CARRY_LIMIT} by default).
     */
    public record Options(int pid, Path dir, boolean leaveRunning, WhileFrozen lazy, long carryLimit) {
        public Options(int pid, Path dir, boolean leaveRunning, WhileFrozen lazy) {
            this(pid, dir, leaveRunning, lazy, DEFAULT_CARRY_LIMIT);
        }

        public Options(int pid, Path dir, boolean leaveRunning) {
            this(pid, dir, leaveRunning, null);
        }
    }

    /** Files up to 1 MiB travel with the images unless told otherwise. */
    public static final long DEFAULT_CARRY_LIMIT = CarriedFiles.DEFAULT_LIMIT;

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
        CarriedFiles.Prefetched prefetched = CarriedFiles.prefetch(o.pid(), o.carryLimit());
        PausePoint.after(PausePoint.PREFETCH);
        try (PageCollector pages = PageCollector.open(o.pid(), SystemInfo.PAGE_SIZE, o.lazy() != null);
             FrozenProcess frozen = FrozenProcess.freeze(o.pid())) {
            long t0 = frozen.seizedAt();
            FrozenSteps.Clock clock = new FrozenSteps.Clock(t0);
            clock.lap(FrozenSteps.FREEZE);
            Preflight.checkFrozen(o.pid()); // again, now that nothing can change under us
            clock.lap(FrozenSteps.PREFLIGHT);
            int pid = o.pid();
            List<ThreadState> threads = new ArrayList<>();
            for (FrozenProcess.Stopped t : frozen.threads()) {
                threads.add(ThreadReader.read(pid, t.tid(), t.registers(), t.sigmask(), layout));
            }
            clock.lap(FrozenSteps.REGS);
            long brk;
            List<SigAction> actions;
            Timers timers;
            frozen.blockSignals();
            FdTableReader.Table fds;
            SocketReader sockets;
            try (Injections inj = Injections.open(pid)) {
                brk = inj.brk();
                actions = inj.signalActions();
                timers = TimersReader.read(pid, inj);
                for (int i = 0; i < threads.size(); i++) {
                    threads.set(i, inj.askThread(threads.get(i)));
                }
                sockets = new SocketReader(pid, inj);
                fds = FdTableReader.read(FdTableReader.Source.of(pid), 1, sockets); // sockets' options by injection
            }
            frozen.putBack(); // nothing is injected after this: a dump killed from here on leaves the process running
            clock.lap(FrozenSteps.INJECT);
            List<Vma> vmas = new ArrayList<>();
            for (MapsEntry m : ProcSmaps.read(pid)) {
                vmas.add(VmaClassifier.classify(m));
            }
            clock.lap(FrozenSteps.MAPS);
            ProcessState state = ProcessStateReader.read(pid, brk, actions, ThreadReader.pending(pid, true), timers);
            clock.lap(FrozenSteps.PROC);
            List<CarriedFile> carried = CarriedFiles.read(pid, fds.slots(), fds.files(), vmas, o.carryLimit(),
                    prefetched);
            List<FileLock> locks = FileLocks.read(pid, fds.slots(), vmas);
            clock.lap(FrozenSteps.FILES);

            long tp = System.nanoTime();
            log.debug("dump: state read in {} ms", (tp - t0) / 1_000_000);
            ImageDir images = ImageDir.of(o.dir());
            Pagemap pagemap;
            try (PagesWriter out = images.createPages(1)) {
                pagemap = pages.collect(vmas, threads.get(0).registers().user().sp(), Pagemap.builder(1), out);
            }
            long pageNanos = System.nanoTime() - tp;
            clock.lap(FrozenSteps.PAGEMAP, new FrozenSteps.Step(FrozenSteps.READ, pages.readNanos()),
                    new FrozenSteps.Step(FrozenSteps.WRITE, pages.writeNanos()));
            log.debug("dump: {} pages written in {} ms", pages.pages(), pageNanos / 1_000_000);
            Checkpoint cp = Checkpoint.of(new ProcessImage(state, threads, vmas, pagemap, fds.slots()), fds.files(), carried,
                    locks);
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
            log.info("dump: process {}: {} thread(s), {} VMAs, {} pages ({} lazy), frozen {} ms{}", pid, threads.size(),
                    vmas.size(), pages.pages(), pagemap.lazyPages(), frozenNanos / 1_000_000, SocketSummary.of(cp));
            if (sockets.waitingConnections() > 0) {
                log.info("dump: {} connection(s) were waiting in accept queues: not migrated, reset when this host's "
                        + "listening socket closes; their clients reconnect to the destination", sockets.waitingConnections());
            }
            return new Result(cp, pages.pages(), pagemap.lazyPages(), frozenNanos, pageNanos, steps);
        } catch (NativeException e) {
            throw new DumpException("dump of process " + o.pid() + " failed: " + e.getMessage(), e);
        }
    }
}
