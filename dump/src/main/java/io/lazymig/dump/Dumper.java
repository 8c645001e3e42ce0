package io.lazymig.dump;

import io.lazymig.images.CarriedFile;
import io.lazymig.images.Checkpoint;
import io.lazymig.images.CoreImagesAhead;
import io.lazymig.images.FileLock;
import io.lazymig.images.ImageDir;
import io.lazymig.images.Pagemap;
import io.lazymig.images.PagesWriter;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.Shmem;
import io.lazymig.images.ProcessState;
import io.lazymig.images.SigAction;
import io.lazymig.images.ThreadState;
import io.lazymig.images.Timers;
import io.lazymig.images.TreeIds;
import io.lazymig.images.Vma;
import io.lazymig.images.XsaveLayout;
import io.lazymig.images.Zombie;
import io.lazymig.images.FileObject;
import io.lazymig.jni.Cpuid;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig dump}: freezes a process and its descendants ({@link FrozenTree}), writes their
 * checkpoint in CRIU's format into a directory (pages-N.img for the N-th process, parents first),
 * then kills them or lets them run on. Runs entirely on the calling thread, which is
 * the tracer.
 */
public final class Dumper {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    /**
     * What to dump and what to do with the process afterwards. {@code carryLimit}: the regular files
     * the process has open or mapped of at most this many bytes travel with the images, for restore
     * to recreate where they are missing (0: none; {@link #DEFAULT_CARRY_LIMIT} by default).
     * {@code externals}: the pipes ("pipe:[INODE]") whose other end may lie outside the dump
     * (dump --external); they are dumped without their data, which stays in this host's pipe.
     * {@code tcpEstablished}: established TCP connections are carried alive ({@link TcpLocks}), not closed.
     * {@code checkpointFiles}: the checkpoint is written into {@code dir}; without it (only with
     * {@code lazy}, whose server builds the destination's images from the {@link Checkpoint} itself)
     * {@code dir} gets only the pages files.
     */
    public record Options(int pid, Path dir, boolean leaveRunning, WhileFrozen lazy, long carryLimit, Set<String> externals,
            boolean tcpEstablished, boolean shareCow, boolean checkpointFiles) {
        public Options {
            externals = Set.copyOf(externals);
            if (!checkpointFiles && lazy == null) {
                throw new IllegalArgumentException("a dump without lazy pages writes its checkpoint");
            }
        }

        public Options(int pid, Path dir, boolean leaveRunning, WhileFrozen lazy, long carryLimit, Set<String> externals) {
            this(pid, dir, leaveRunning, lazy, carryLimit, externals, false, shareCowByDefault(lazy), true);
        }

        /** These options, carrying established TCP connections alive or not (dump --tcp-established). */
        public Options withTcpEstablished(boolean on) {
            return new Options(pid, dir, leaveRunning, lazy, carryLimit, externals, on, shareCow, checkpointFiles);
        }

        /** These options, sharing a tree's copy-on-write private memory ({@link CowShares}) or not. */
        public Options withShareCow(boolean on) {
            return new Options(pid, dir, leaveRunning, lazy, carryLimit, externals, tcpEstablished, on, checkpointFiles);
        }

        /**
         * These options, the checkpoint written into {@code dir} or not (only the pages files): migrate's
         * page server builds the destination's images from the Checkpoint, and nothing reads the rest.
         */
        public Options withCheckpointFiles(boolean on) {
            return new Options(pid, dir, leaveRunning, lazy, carryLimit, externals, tcpEstablished, shareCow, on);
        }

        /**
         * Copy-on-write sharing by default only when every page is dumped anyway (no --lazy-pages):
         * the shared pages must be in the parent before restore forks its children, so with it a
         * lazy migration carries them inside the downtime (a tree sharing 1 GiB: 12.9 s instead of
         * well under one), without it each process's copy comes lazily (N copies on A in the end).
         */
        public static boolean shareCowByDefault(WhileFrozen lazy) {
            return lazy == null;
        }

        public Options(int pid, Path dir, boolean leaveRunning, WhileFrozen lazy, long carryLimit) {
            this(pid, dir, leaveRunning, lazy, carryLimit, Set.of());
        }

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
        PipeEnds pipes = new PipeEnds(Set.of(o.pid()), o.externals());
        List<TreeIds.Node> found = Preflight.checkTree(o.pid(), pipes);
        Files.createDirectories(o.dir());
        Warmup.run();
        XsaveLayout layout = XsaveLayout.fromCpuid(Cpuid.enabledXfeatures(), Cpuid::query);
        CarriedFiles.Prefetched prefetched = CarriedFiles.prefetch(found.stream().map(TreeIds.Node::pid).toList(),
                o.carryLimit());
        PausePoint.after(PausePoint.PREFETCH);
        // smaps walks the page tables (~20 ms a GiB): read while the tree still runs, confirmed once frozen
        VmaSnapshot before = VmaSnapshot.take(found.stream().map(TreeIds.Node::pid).toList());
        // the page walker and the 8 MiB page buffer are made before the freeze (4.5 ms inside it otherwise)
        try (PageCollector rootPages = PageCollector.open(o.pid(), SystemInfo.PAGE_SIZE, o.lazy() != null);
             ProcLocks procLocks = ProcLocks.prepare(); // its thread started before the freeze
             FrozenTree tree = FrozenTree.freeze(o.pid());
             TcpLocks tcpLocks = new TcpLocks()) { // closed first: a failed dump unlocks before the tree resumes
            long t0 = tree.seizedAt();
            FrozenSteps.Clock clock = new FrozenSteps.Clock(t0);
            clock.lap(FrozenSteps.FREEZE);
            procLocks.read(); // its RCU wait passes beside the next steps
            List<TreeIds.Node> nodes = new ArrayList<>();
            Set<Integer> frozenPids = new HashSet<>();
            tree.members().forEach(m -> frozenPids.add(m.pid()));
            tree.zombies().forEach(z -> frozenPids.add(z.pid()));
            pipes.setDumped(frozenPids);
            // each process's VMAs read once, for the preflight's check, the copy-on-write comparison and its own dump
            Map<Integer, List<MapsEntry>> maps = new HashMap<>();
            for (FrozenTree.Member m : tree.members()) {
                maps.put(m.pid(), before.confirmed(m.pid()));
            }
            clock.lap(FrozenSteps.MAPS);
            for (FrozenTree.Member m : tree.members()) {
                Preflight.checkFrozen(m.pid(), pipes, maps.get(m.pid())); // again, now that nothing can change under us
                nodes.add(new TreeIds.Node(m.pid(), m.ppid(), statField(m.pid(), 5), statField(m.pid(), 6)));
            }
            for (Zombie z : tree.zombies()) {
                nodes.add(new TreeIds.Node(z.pid(), z.ppid(), z.pgid(), z.sid()));
            }
            Preflight.refuseTreeIds(o.pid(), nodes);
            if (nodes.get(0).sid() != o.pid() && nodes.size() > 1) {
                log.info("dump: the session of process {} ({}) lies outside the tree: restore puts the tree in its own"
                        + " session, as CRIU's --shell-job", o.pid(), nodes.get(0).sid());
            }
            clock.lap(FrozenSteps.PREFLIGHT);
            ImageDir images = ImageDir.of(o.dir());
            List<ProcessImage> processes = new ArrayList<>();
            List<FileObject> files = new ArrayList<>();
            Map<String, CarriedFile> carried = new LinkedHashMap<>();
            List<FileLock> locks = new ArrayList<>();
            List<FdTableReader.Owner> owners = new ArrayList<>();
            long pages = 0;
            long pageNanos = 0;
            int waitingConnections = 0;
            String walker = rootPages.walkerName();
            CowShares shares = CowShares.find(o.shareCow() ? tree.members() : List.of(), maps,
                    SystemInfo.PAGE_SIZE);
            if (tree.members().size() > 1) {
                clock.lap(FrozenSteps.COW);
            }
            long cowPages = 0;
            List<TreeInjections.Answers> answers = askAll(tree.members(), maps, layout, clock);
            // every process's injections finished and its registers put back before anything else is
            // read: a dump killed after the "inject" step leaves the whole tree running
            List<Injected> injected = new ArrayList<>();
            try {
                for (int i = 0; i < tree.members().size(); i++) {
                    FrozenTree.Member m = tree.members().get(i);
                    try {
                        Injected one = injectOne(m, answers.get(i), nextId(files), owners, pipes,
                                o.tcpEstablished() ? tcpLocks : null);
                        injected.add(one);
                        owners.addAll(one.fds().owners());
                        files.addAll(one.fds().files());
                        waitingConnections += one.waitingConnections();
                    } catch (DumpException e) {
                        throw inTree(e, i, m, o);
                    }
                }
            } finally {
                List<Injections> open = new ArrayList<>(); // a loop, not a lambda: no bootstrap inside the freeze
                for (TreeInjections.Answers a : answers) {
                    open.add(a.injections());
                }
                Injections.closeAll(open); // each process's is closed by its injectOne; these are a failure's leftovers
            }
            clock.lap(FrozenSteps.INJECT);
            ProcStateReads procReads = readProcs(tree.members(), injected);
            for (int i = 0; i < tree.members().size(); i++) {
                FrozenTree.Member m = tree.members().get(i);
                PageCollector collector = i == 0 ? rootPages : rootPages.forProcess(m.pid());
                collector.share(shares.of(m.pid()));
                try {
                    One one;
                    try {
                        one = dumpOne(o, m, injected.get(i), maps.get(m.pid()), i + 1, collector, images, clock,
                                carried.keySet(), prefetched, procLocks, procReads, i - 1);
                    } catch (DumpException e) {
                        throw inTree(e, i, m, o);
                    }
                    processes.add(one.process());
                    for (CarriedFile c : one.carried()) {
                        carried.putIfAbsent(c.path(), c);
                    }
                    locks.addAll(one.locks());
                    pages += collector.pages();
                    cowPages += collector.cowPages();
                    pageNanos += one.pageNanos();
                } finally {
                    if (i != 0) {
                        collector.close();
                    }
                }
            }
            List<Shmem> shmems = ShmemReader.read(processes, files, images, tree.members().size() + 1);
            Checkpoint cp = new Checkpoint(processes, files, new ArrayList<>(carried.values()), locks, tree.zombies(),
                    shmems);
            if (o.checkpointFiles()) {
                cp.write(o.dir());
            }
            clock.lap(FrozenSteps.IMAGES);
            FrozenSteps steps = clock.stop();
            log.debug("dump: images {} at {} ms", o.checkpointFiles() ? "written" : "ready", (System.nanoTime() - t0) / 1_000_000);
            log.info("dump: {} ({} pages, pagemap by {})", steps.summary(), pages, walker);
            if (o.lazy() != null) {
                o.lazy().serve(cp, t0);
            }

            if (o.leaveRunning()) {
                tcpLocks.release(); // before the process runs: a write in repair mode would fail with EPERM
                tree.resume();
            } else {
                tree.kill();
                tcpLocks.vanish();
            }
            long frozenNanos = System.nanoTime() - t0;
            long lazyPages = 0;
            int threads = 0;
            int vmas = 0;
            for (ProcessImage p : processes) {
                lazyPages += p.pagemap().lazyPages();
                threads += p.threads().size();
                vmas += p.vmas().size();
            }
            log.info("dump: process {}{}: {} thread(s), {} VMAs, {} pages ({} lazy{}), frozen {} ms{}", o.pid(),
                    cp.isTree() ? " and its tree, " + tree.describe() : "", threads, vmas, pages, lazyPages,
                    cowPages > 0 ? ", " + cowPages + " shared copy-on-write with a parent, dumped once" : "",
                    frozenNanos / 1_000_000, SocketSummary.of(cp));
            if (waitingConnections > 0) {
                log.info("dump: {} connection(s) were waiting in accept queues: not migrated, reset when this host's "
                        + "listening socket closes; their clients reconnect to the destination", waitingConnections);
            }
            return new Result(cp, pages, lazyPages, frozenNanos, pageNanos, steps);
        } catch (NativeException e) {
            throw new DumpException("dump of process " + o.pid() + " failed: " + e.getMessage(), e);
        }
    }

    /** {start, end} of the executable [vdso] among {@code maps}, or null. */
    private static long[] vdso(List<MapsEntry> maps) {
        if (maps != null) {
            for (MapsEntry e : maps) {
                if (e.exec() && "[vdso]".equals(e.path())) {
                    return new long[] {e.start(), e.end()};
                }
            }
        }
        return null;
    }

    /** What one process of the tree gave: its image, its open files, what travels and the locks it holds. */
    private record One(ProcessImage process, List<CarriedFile> carried, List<FileLock> locks, long pageNanos) {
    }

    /** A failure of process {@code i} of the tree, its message naming it when it is not the root. */
    private static DumpException inTree(DumpException e, int i, FrozenTree.Member m, Options o) {
        if (i == 0 || e.getMessage().startsWith("process ")) {
            return e;
        }
        return new DumpException("process " + m.pid() + " (in the tree of " + o.pid() + "): " + e.getMessage(), e);
    }

    /** The first file id after those of {@code files}. */
    private static int nextId(List<FileObject> files) {
        int next = 1;
        for (FileObject f : files) {
            next = Math.max(next, f.id() + 1);
        }
        return next;
    }

    /** Reads one frozen process of the tree ({@code maps}: its VMAs, read at the freeze); its pages go to pages-{@code pagesId}.img. */
    /**
     * Every process's threads read, then what only injections tell asked of all of them at once
     * ({@link TreeInjections}: one batch per question for the whole tree); each process's scratch
     * page stays mapped, and its signals blocked, until {@link #dumpOne} has read its fds.
     */
    private static List<TreeInjections.Answers> askAll(List<FrozenTree.Member> members,
            Map<Integer, List<MapsEntry>> maps, XsaveLayout layout, FrozenSteps.Clock clock) throws IOException {
        List<Integer> pids = new ArrayList<>(members.size());
        List<long[]> vdsos = new ArrayList<>(members.size());
        List<List<ThreadState>> threads = new ArrayList<>(members.size());
        ByteBuffer xstate = ThreadReader.xstateBuffer();
        ProcFileBuffer file = new ProcFileBuffer();
        long[] parts = new long[ThreadReader.PARTS];
        int count = 0;
        for (FrozenTree.Member m : members) {
            List<ThreadState> some = new ArrayList<>();
            for (FrozenProcess.Stopped t : m.process().threads()) {
                some.add(ThreadReader.read(m.pid(), t.tid(), t.registers(), t.sigmask(), t.rseq(), layout, xstate, file, parts));
            }
            count += some.size();
            pids.add(m.pid());
            vdsos.add(vdso(maps.get(m.pid())));
            threads.add(some);
        }
        clock.lap(FrozenSteps.REGS);
        if (log.isDebugEnabled()) {
            log.debug("dump: regs of {} threads: registers+xstate {} us, rseq+robust {} us, stat {} us, siginfo {} us,"
                    + " model {} us", count, parts[ThreadReader.REGS] / 1000, parts[ThreadReader.RSEQ_ROBUST] / 1000,
                    parts[ThreadReader.STAT] / 1000, parts[ThreadReader.SIGINFO] / 1000, parts[ThreadReader.BUILD] / 1000);
        }
        for (FrozenTree.Member m : members) {
            m.process().blockSignals();
        }
        return TreeInjections.ask(pids, threads, vdsos); // timed with the rest of the injections, up to the last putBack
    }

    /** What the injections told of one process, and its fd table read while they were open. */
    private record Injected(List<ThreadState> threads, long brk, List<SigAction> actions, Timers timers,
            FdTableReader.Table fds, int waitingConnections) {
    }

    /**
     * The rest of one process's injections (its POSIX timers, its sockets' options with its fd
     * table), its scratch page unmapped and its registers put back: nothing is injected into it
     * after this, so a dump killed from here on leaves it running.
     */
    private static Injected injectOne(FrozenTree.Member m, TreeInjections.Answers asked, int firstFileId,
            List<FdTableReader.Owner> earlier, PipeEnds pipes, TcpLocks tcpLocks) throws IOException {
        int pid = m.pid();
        Timers timers;
        FdTableReader.Table fds;
        SocketReader sockets;
        try (Injections inj = asked.injections()) {
            timers = TimersReader.read(pid, inj, asked.real(), asked.virtual(), asked.prof());
            sockets = new SocketReader(pid, inj, pipes.treeFds(), tcpLocks);
            // sockets' options by injection
            fds = FdTableReader.read(FdTableReader.Source.of(pid, pipes), pid, firstFileId, earlier, sockets);
        }
        m.process().putBack();
        return new Injected(asked.threads(), asked.brk(), asked.actions(), timers, fds, sockets.waitingConnections());
    }

    private static One dumpOne(Options o, FrozenTree.Member m, Injected injected, List<MapsEntry> maps, int pagesId,
            PageCollector pages, ImageDir images, FrozenSteps.Clock clock, Set<String> carriedAlready,
            CarriedFiles.Prefetched prefetched, ProcLocks procLocks, ProcStateReads procReads, int procRead)
            throws IOException {
        int pid = m.pid();
        List<ThreadState> threads = injected.threads();
        long brk = injected.brk();
        List<SigAction> actions = injected.actions();
        Timers timers = injected.timers();
        FdTableReader.Table fds = injected.fds();
        // the VMAs as read at the freeze: the injections' scratch page is unmapped again, the layout is the same
        List<Vma> vmas = new ArrayList<>();
        for (MapsEntry e : maps) {
            try {
                vmas.add(VmaClassifier.classify(e));
            } catch (DumpException refused) {
                throw new DumpException("process " + pid + " has " + refused.getMessage(), refused);
            }
        }
        clock.lap(FrozenSteps.MAPS);
        ProcessState state = procRead >= 0 ? procReads.get(procRead)
                : ProcessStateReader.read(pid, m.ppid(), brk, actions, ThreadReader.pending(pid, true), timers);
        clock.lap(FrozenSteps.PROC);
        // the core images encoded beside the rest of the dump, on the CPU the tracer leaves idle
        CoreImagesAhead.start(state, threads);
        List<CarriedFile> carried = CarriedFiles.read(pid, fds.slots(), fds.files(), vmas, o.carryLimit(), prefetched,
                carriedAlready);
        List<FileLock> locks = FileLocks.read(pid, fds.slots(), vmas, procLocks.lines());
        clock.lap(FrozenSteps.FILES);

        long tp = System.nanoTime();
        Pagemap pagemap;
        try (PagesWriter out = images.createPages(pagesId)) {
            pagemap = pages.collect(vmas, EagerPages.of(threads, state.mm(), SystemInfo.PAGE_SIZE), Pagemap.builder(pagesId), out);
        }
        long pageNanos = System.nanoTime() - tp;
        clock.lap(FrozenSteps.PAGEMAP, new FrozenSteps.Step(FrozenSteps.READ, pages.readNanos()),
                new FrozenSteps.Step(FrozenSteps.WRITE, pages.writeNanos()));
        log.debug("dump: process {}: {} pages written in {} ms", pid, pages.pages(), pageNanos / 1_000_000);
        return new One(new ProcessImage(state, threads, vmas, pagemap, fds.slots()), carried, locks, pageNanos);
    }

    /**
     * The /proc state of every process of the tree but the root, read beside the tracer thread
     * ({@link ProcStateReads}) while it dumps the root; their pending signals read here first (ptrace).
     * Null for a single process.
     */
    private static ProcStateReads readProcs(List<FrozenTree.Member> members, List<Injected> injected) throws IOException {
        if (members.size() < 2) {
            return null;
        }
        List<ProcStateReads.Input> inputs = new ArrayList<>(members.size() - 1);
        for (int i = 1; i < members.size(); i++) {
            FrozenTree.Member m = members.get(i);
            Injected in = injected.get(i);
            inputs.add(new ProcStateReads.Input(m.pid(), m.ppid(), in.brk(), in.actions(),
                    ThreadReader.pending(m.pid(), true), in.timers()));
        }
        return ProcStateReads.start(inputs);
    }

    /** proc(5)'s 1-based field n of /proc/PID/stat (n >= 3). */
    private static int statField(int pid, int n) throws IOException {
        String s = ProcText.read(Path.of("/proc", Integer.toString(pid), "stat"));
        return Integer.parseInt(s.substring(s.lastIndexOf(')') + 1).trim().split("\\s+")[n - 3]);
    }
}
