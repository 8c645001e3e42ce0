package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ImageDir;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.TreeIds;
import io.lazymig.images.Zombie;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Cpuid;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Ptrace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig restore}: rebuilds a checkpointed process by syscalls injected into a stub
 * (KERNEL-FACTS §3), eagerly or with its lazy memory handed to a lazy-pages daemon; a tree:
 * every process created first ({@link TreeSpawn}), then rebuilt step by step ({@link RestorePlan}:
 * each step for every process, parents first, before the next step; a {@link TreeStep} for all of
 * them at once), its zombies ended, and all
 * released together. Runs on the
 * calling thread, which is the stub's tracer; a failure kills the stub (and PTRACE_O_EXITKILL
 * kills it if restore itself dies), so no half-restored process is left behind.
 */
public final class Restorer {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    /** What to restore and how. */
    public record Options(Path dir, boolean lazy, Path address, boolean anyPid, Path stub, Guardian guardian,
            List<InheritFd> inherit, IpMap ipMap, boolean tcpEstablished) {
        public Options {
            inherit = List.copyOf(inherit);
            ipMap = ipMap == null ? IpMap.NONE : ipMap;
        }

        public Options(Path dir, boolean lazy, Path address, boolean anyPid, Path stub, Guardian guardian,
                List<InheritFd> inherit, IpMap ipMap) {
            this(dir, lazy, address, anyPid, stub, guardian, inherit, ipMap, false);
        }

        public Options(Path dir, boolean lazy, Path address, boolean anyPid, Path stub, Guardian guardian) {
            this(dir, lazy, address, anyPid, stub, guardian, List.of(), IpMap.NONE);
        }

        public Options(Path dir, boolean lazy, Path address, boolean anyPid, Path stub) {
            this(dir, lazy, address, anyPid, stub, null);
        }

        /** These options with what the external resources become (--inherit-fd). */
        public Options withInherit(List<InheritFd> list) {
            return new Options(dir, lazy, address, anyPid, stub, guardian, list, ipMap, tcpEstablished);
        }

        /** The same, binding sockets through {@code map}. */
        public Options withIpMap(IpMap map) {
            return new Options(dir, lazy, address, anyPid, stub, guardian, inherit, map, tcpEstablished);
        }

        /** The same, restoring the connections dumped with --tcp-established alive (else closed). */
        public Options withTcpEstablished(boolean on) {
            return new Options(dir, lazy, address, anyPid, stub, guardian, inherit, ipMap, on);
        }
    }

    /**
     * Takes a share of the lazy handoff ({@link LazyHandoff#shareWith}) after the uffd went to the
     * daemon and before the process is released: a guard that must outlive whoever runs restore
     * (the agent, whose daemon runs in the same process) holds it from the first instruction on.
     */
    @FunctionalInterface
    public interface Guardian {
        void take(LazyHandoff handoff) throws IOException;

        /**
         * Called just before the uffd goes to the daemon: whoever starts the daemon together with
         * restore (the agent) waits here until it listens.
         */
        default void beforeHandoff() throws IOException {
        }

        /**
         * Called once every step has run, just before the process is released (its connections, its
         * threads detached): a guardian whose {@link #take} only sent its share waits here until it
         * is taken, the remaining steps meanwhile done.
         */
        default void beforeRelease() throws IOException {
        }
    }

    /**
     * The restored process, running, and the lazy handoff that guards it (null when eager);
     * {@code connectionsAlive}: the TCP connections restored alive and released (--tcp-established).
     */
    public record Restored(int pid, LazyHandoff handoff, long startNanos, long detachNanos, long eagerBytes,
            int connectionsAlive) {
    }

    private Restorer() {
    }

    public static Restored restore(Options o) throws IOException {
        return restore(o, null);
    }

    /**
     * As {@link #restore(Options)}, with the checkpoint of {@code o.dir()} already read by the caller
     * ({@link #readCheckpoint}; null: read here): the agent reads it once for its daemon and restore,
     * where two reads side by side of a process with 100 threads cost 100-200 ms each on a busy host.
     */
    public static Restored restore(Options o, Checkpoint read) throws IOException {
        return restore(o, read, 0);
    }

    /**
     * As {@link #restore(Options, Checkpoint)}, in the stub {@code prespawned} started ahead by
     * {@link #prespawnStub} from this thread (0: none): restore owns it from this call on, uses it
     * when it was started for the checkpoint's pid, and kills it when it fails or does not use it.
     */
    public static Restored restore(Options o, Checkpoint read, int prespawned) throws IOException {
        return restore(o, read, PrespawnedTree.ofRoot(prespawned));
    }

    /**
     * As {@link #restore(Options, Checkpoint, int)}, with the stub and perhaps its tree started ahead
     * ({@link PrespawnedTree#start}, from this thread): taken when it fits the checkpoint, else killed.
     */
    public static Restored restore(Options o, Checkpoint read, PrespawnedTree prespawned) throws IOException {
        try {
            return restoreIn(o, read, prespawned);
        } finally {
            prespawned.discard(); // not taken: restore failed before it could, or it fits another checkpoint
        }
    }

    /**
     * The restore stub started ahead, as {@code pid}, for a process whose images are still coming:
     * the fork of this JVM and the stub's exec (9-25 ms in make bench) then happen before the
     * freeze instead of during the downtime. Ptrace ties the stub to the calling thread: the
     * restore must run on it. 0 when it cannot be started so (the pid is taken, no stub): the
     * restore then starts its own, with its usual errors.
     */
    public static int prespawnStub(Path stub, int pid) {
        if (pid <= 0 || !Files.isExecutable(stub)) {
            return 0;
        }
        try {
            return Ptrace.spawnTraced(stub.toString(), new String[] {stub.toString()}, new String[0], null, null, null,
                    Ptrace.DEFAULT_OPTIONS, pid);
        } catch (IOException e) {
            log.debug("restore: no stub started ahead as pid {}: {}", pid, e.getMessage());
            return 0;
        }
    }

    /** Kills and reaps a stub of {@link #prespawnStub} that no restore was given. */
    public static void discardStub(int pid) {
        killStub(pid, List.of());
    }

    private static Restored restoreIn(Options o, Checkpoint read, PrespawnedTree prespawned) throws IOException {
        long t0 = System.nanoTime();
        Phases phases = new Phases(t0);
        if (!Files.isDirectory(o.dir())) {
            throw new RestoreException("no images directory " + o.dir());
        }
        Checkpoint cp = read != null ? read : readCheckpoint(o.dir());
        refuseUnsupported(cp, o.lazy());
        new InheritedFds(o.inherit()).check(cp);
        phases.done("read images");
        CarriedFilesStep carried = new CarriedFilesStep();
        int pid = 0;
        TreeSpawn tree = new TreeSpawn();
        List<Restoring> restorings = new ArrayList<>();
        boolean done = false;
        ShmemObjects shmems = new ShmemObjects(cp, o.dir());
        CowTree cow = CowTree.of(cp, o.dir());
        HeldConnections held = o.tcpEstablished() ? new HeldConnections() : null;
        try {
            // a tree made ahead that is not this one killed before the wait below: its children, left
            // zombies of their killed root, hold their pids until init reaps them
            boolean ahead = prespawned.fits(cp, cow);
            if (!ahead) {
                prespawned.discard();
            }
            long zombieDeadline = System.nanoTime() + ZOMBIE_PATIENCE_NANOS;
            for (int original : originalPids(cp)) {
                awaitZombieReaped(original, zombieDeadline);
            }
            phases.done("zombies reaped");
            TreeSpawn made = null;
            if (ahead) {
                pid = prespawned.root(); // started ahead, while the images came
                made = prespawned.take();
            } else {
                pid = spawnStub(o, cp.root().pid());
            }
            phases.done("spawn stub");
            if (cp.isTree()) {
                tree.spawn(cp, pid, o.anyPid(), cow, made);
                phases.done("spawn tree");
            }
            // once the pid lives: a JVM starting on this host deletes the perf-data files of dead pids
            carried.recreateMissing(cp);
            phases.done("carried files");
            List<TreeSpawn.Spawned> live = new ArrayList<>();
            for (TreeSpawn.Spawned s : tree.spawned()) {
                if (s.zombie() == null) {
                    live.add(s);
                }
            }
            if (live.isEmpty()) {
                restorings.add(new Restoring(o, cp, pid));
            } else {
                SharedFiles shared = new SharedFiles();
                LazyHandoff treeHandoff = null;
                if (o.lazy()) {
                    treeHandoff = LazyHandoff.forTree(o.address()); // its guardian's beforeHandoff at the first process's
                }
                for (TreeSpawn.Spawned s : live) {
                    Restoring r = new Restoring(o, cp, s.process(), s.pid());
                    r.sharedFiles = shared;
                    r.handoff = treeHandoff;
                    restorings.add(r);
                }
            }
            for (Restoring r : restorings) {
                r.cow = cow;
                r.shmems = shmems;
                r.heldConnections = held;
            }
            // Step by step across the tree, parents first within each step: every process is rebuilt
            // before the first uffd waits for the daemon to listen (which the agent starts with restore),
            // and the steps after the handoff, all short, run together at the end. Process by process,
            // a 4-process tree waited for the daemon before rebuilding any, and its restore took 1.1 s
            // where a single process's took 0.45 s (bench tick-migrate-tree4-64, a busy machine).
            for (RestoreStep step : RestorePlan.steps(o.lazy())) {
                if (step instanceof TreeStep across) {
                    across.runAll(restorings); // the whole tree in one round of stops
                    phases.done(step.name());
                    continue;
                }
                for (Restoring r : restorings) {
                    step.run(r);
                    phases.done(step.name());
                }
            }
            shmems.seal(); // every process has mapped its memfds: F_SEAL_FUTURE_WRITE would forbid a writable map
            Restoring root = restorings.get(0);
            if (cp.isTree() && root.handoff != null) {
                for (Zombie z : cp.zombies()) {
                    root.handoff.addZombie(z.pid());
                }
                if (held != null) {
                    root.handoff.guardConnections(held.inodes());
                }
                if (o.guardian() != null) {
                    o.guardian().take(root.handoff);
                }
            }
            if (o.guardian() != null) {
                o.guardian().beforeRelease();
                phases.done("guarded");
            }
            tree.exitZombies();
            int alive = held == null ? 0 : held.size();
            if (alive > 0) {
                // last: until here a failure closes them still in repair mode, and the peer sees nothing
                held.release();
                phases.done("connections released");
            }
            SchedStep.applyAll(restorings); // nothing runs in the processes from here to the detach
            phases.done("scheduled");
            for (Restoring r : restorings) {
                for (Restoring.Created t : r.created) {
                    Ptrace.detach(t.tid(), 0);
                }
                Ptrace.detach(r.pid, 0);
            }
            long detached = System.nanoTime();
            phases.done("detached");
            log.debug("restore: {} injected syscalls", root.stub.injected());
            if (root.handoff != null) {
                root.handoff.restoreFinished();
            }
            done = true;
            if (log.isInfoEnabled()) {
                long eager = 0;
                for (Restoring r : restorings) {
                    eager += r.eagerBytes;
                }
                log.info("restore: process {} running after {} ms ({} eager bytes{}{}){}", pid,
                        String.format(Locale.ROOT, "%.1f", (detached - t0) / 1e6), eager,
                        shmems.bytes() > 0 ? ", and " + shmems.bytes() + " bytes of shared memory" : "",
                        cow != null ? ", " + cow.writtenBeforeForks() + " written before the forks, "
                                + cow.inheritedBytes() + " bytes shared copy-on-write by the fork" : "",
                        cp.isTree() ? ", with its tree: " + tree.pids() : "");
            }
            return new Restored(pid, root.handoff, t0, detached, root.eagerBytes, alive);
        } catch (NativeException e) {
            throw new RestoreException("restore of " + o.dir() + " failed: " + e.getMessage(), e);
        } finally {
            for (Restoring r : restorings) {
                r.sharedFiles.close(); // restore's copies of pair ends (every process took its own, or it failed)
            }
            shmems.close(); // the processes hold the objects now (or are killed below)
            if (held != null) {
                if (!done) {
                    held.silence(); // released ones back in repair mode: the kill below sends the peers nothing
                }
                held.close(); // done: the processes hold theirs; else in repair mode, closed without a word to the peer
            }
            if (!done) {
                List<Integer> others = new ArrayList<>();
                for (TreeSpawn.Spawned s : tree.spawned()) {
                    if (s.pid() != pid) {
                        others.add(s.pid());
                    }
                }
                for (int i = others.size() - 1; i >= 0; i--) {
                    final int other = others.get(i);
                    List<Restoring.Created> threads = restorings.stream().filter(r -> r.pid == other)
                            .findFirst().map(r -> r.created).orElse(List.of());
                    killStub(other, threads);
                }
                List<Restoring.Created> rootThreads = restorings.isEmpty() ? List.of() : restorings.get(0).created;
                killStub(pid, rootThreads);
                if (!restorings.isEmpty() && restorings.get(0).handoff != null) {
                    restorings.get(0).handoff.close(); // one for the whole tree
                }
                carried.undo();
            }
        }
    }

    /** The checkpoint in {@code dir}, its XSAVE areas in this CPU's layout (as restore needs it). */
    public static Checkpoint readCheckpoint(Path dir) throws IOException {
        return readCheckpoint(ImageDir.of(dir));
    }

    /** As {@link #readCheckpoint(Path)}, from {@code d} (e.g. images received into memory). */
    public static Checkpoint readCheckpoint(ImageDir d) throws IOException {
        return Checkpoint.read(d, XsaveLayout.fromCpuid(Cpuid.enabledXfeatures(), Cpuid::query));
    }

    /** Every pid of the checkpoint: its processes' and its zombies'. */
    private static List<Integer> originalPids(Checkpoint cp) {
        List<Integer> pids = new ArrayList<>();
        for (ProcessImage p : cp.processes()) {
            pids.add(p.pid());
        }
        for (Zombie z : cp.zombies()) {
            pids.add(z.pid());
        }
        return pids;
    }

    /** What the images may hold but restore cannot rebuild yet, refused before anything is started. */
    static void refuseUnsupported(Checkpoint cp, boolean lazy) throws RestoreException {
        String refusal = TreeIds.refusal(TreeIds.of(cp));
        if (refusal != null) {
            throw new RestoreException("cannot restore the tree of process " + cp.root().pid() + ": " + refusal);
        }
    }

    /**
     * Kills the half-restored process: the created threads are reaped first, as an exited traced
     * thread stays a zombie until its tracer reaps it, and the leader's exit is reported only after.
     */
    private static void killStub(int pid, List<Restoring.Created> created) {
        if (pid <= 0) {
            return;
        }
        for (int i = created.size() - 1; i >= 0; i--) {
            try {
                Ptrace.killAndReap(created.get(i).tid());
            } catch (IOException ignored) {
                // gone already
            }
        }
        try {
            Ptrace.killAndReap(pid);
        } catch (IOException ignored) {
            // gone already
        }
    }

    private static int spawnStub(Options o, int originalPid) throws IOException {
        String stub = o.stub().toString();
        if (!Files.isExecutable(o.stub())) {
            throw new RestoreException("restore stub " + stub + " is missing (build with 'make')");
        }
        String[] argv = {stub};
        try {
            return Ptrace.spawnTraced(stub, argv, new String[0], null, null, null, Ptrace.DEFAULT_OPTIONS, originalPid);
        } catch (NativeException e) {
            if (e.errno() != io.lazymig.jni.Errno.EEXIST) {
                throw new RestoreException("cannot start the restore stub: " + e.getMessage(), e);
            }
            if (!o.anyPid()) {
                if (isZombie(Path.of("/proc", Integer.toString(originalPid), "stat"))) {
                    throw new RestoreException("pid " + originalPid + " is held by a zombie its parent does not reap; "
                            + "use --any-pid to restore the process under another pid");
                }
                throw new RestoreException("pid " + originalPid + " is taken on this host; use --any-pid to restore "
                        + "the process under another pid");
            }
            log.warn("restore: pid {} is taken, restoring under another pid", originalPid);
            return Ptrace.spawnTraced(stub, argv, new String[0], null, null, null, Ptrace.DEFAULT_OPTIONS, 0);
        }
    }

    /** How long restore waits, in all, for the zombies of just-killed processes to be reaped. */
    private static final long ZOMBIE_PATIENCE_NANOS = 10_000_000_000L;

    /**
     * A process just dumped and killed on this host stays a zombie until its parent reaps it (init
     * here took ~1.4 s); give that until {@code deadline} rather than call its pid taken. A zombie
     * whose parent is held in a ptrace stop (a source tree still frozen by its dump, on this very
     * host) will not be reaped meanwhile: no wait for it.
     */
    private static void awaitZombieReaped(int pid, long deadline) {
        Path stat = Path.of("/proc", Integer.toString(pid), "stat");
        while (isZombie(stat) && !parentTraceStopped(stat) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static boolean parentTraceStopped(Path stat) {
        try {
            String s = Files.readString(stat);
            String ppid = s.substring(s.lastIndexOf(')') + 2).split(" ")[1];
            String p = Files.readString(Path.of("/proc", ppid, "stat"));
            return p.charAt(p.lastIndexOf(')') + 2) == 't';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean isZombie(Path stat) {
        try {
            String s = Files.readString(stat);
            return s.charAt(s.lastIndexOf(')') + 2) == 'Z';
        } catch (IOException | StringIndexOutOfBoundsException e) {
            return false;
        }
    }
}
