package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Cpuid;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Ptrace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig restore}: rebuilds a checkpointed process by syscalls injected into a stub
 * (KERNEL-FACTS §3), eagerly or with its lazy memory handed to a lazy-pages daemon. Runs on the
 * calling thread, which is the stub's tracer; a failure kills the stub (and PTRACE_O_EXITKILL
 * kills it if restore itself dies), so no half-restored process is left behind.
 */
public final class Restorer {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    /** What to restore and how. */
    public record Options(Path dir, boolean lazy, Path address, boolean anyPid, Path stub, Guardian guardian, IpMap ipMap) {
        public Options {
            ipMap = ipMap == null ? IpMap.NONE : ipMap;
        }

        public Options(Path dir, boolean lazy, Path address, boolean anyPid, Path stub, Guardian guardian) {
            this(dir, lazy, address, anyPid, stub, guardian, IpMap.NONE);
        }

        public Options(Path dir, boolean lazy, Path address, boolean anyPid, Path stub) {
            this(dir, lazy, address, anyPid, stub, null);
        }

        /** The same, binding sockets through {@code map}. */
        public Options withIpMap(IpMap map) {
            return new Options(dir, lazy, address, anyPid, stub, guardian, map);
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
    }

    /** The restored process, running, and the lazy handoff that guards it (null when eager). */
    public record Restored(int pid, LazyHandoff handoff, long startNanos, long detachNanos, long eagerBytes) {
    }

    private Restorer() {
    }

    public static Restored restore(Options o) throws IOException {
        long t0 = System.nanoTime();
        Phases phases = new Phases(t0);
        if (!Files.isDirectory(o.dir())) {
            throw new RestoreException("no images directory " + o.dir());
        }
        Checkpoint cp = Checkpoint.read(o.dir(), XsaveLayout.fromCpuid(Cpuid.enabledXfeatures(), Cpuid::query));
        refuseUnsupported(cp);
        phases.done("read images");
        CarriedFilesStep carried = new CarriedFilesStep();
        int pid = 0;
        Restoring r = null;
        boolean done = false;
        try {
            pid = spawnStub(o, cp.root().pid());
            phases.done("spawn stub");
            // once the pid lives: a JVM starting on this host deletes the perf-data files of dead pids
            carried.recreateMissing(cp);
            phases.done("carried files");
            r = new Restoring(o, cp, pid);
            for (RestoreStep step : RestorePlan.steps(o.lazy())) {
                step.run(r);
                phases.done(step.name());
            }
            for (Restoring.Created t : r.created) {
                Ptrace.detach(t.tid(), 0);
            }
            Ptrace.detach(pid, 0);
            long detached = System.nanoTime();
            phases.done("detached");
            log.debug("restore: {} injected syscalls", r.stub.injected());
            if (r.handoff != null) {
                r.handoff.restoreFinished();
            }
            done = true;
            if (log.isInfoEnabled()) {
                log.info("restore: process {} running after {} ms ({} eager bytes)", pid,
                        String.format(Locale.ROOT, "%.1f", (detached - t0) / 1e6), r.eagerBytes);
            }
            return new Restored(pid, r.handoff, t0, detached, r.eagerBytes);
        } catch (NativeException e) {
            throw new RestoreException("restore of " + o.dir() + " failed: " + e.getMessage(), e);
        } finally {
            if (!done) {
                if (r != null) {
                    killStub(pid, r.created);
                    if (r.handoff != null) {
                        r.handoff.close();
                    }
                }
                carried.undo();
            }
        }
    }

    /** What the images may hold but restore cannot rebuild yet, refused before anything is started. */
    static void refuseUnsupported(Checkpoint cp) throws RestoreException {
        if (cp.processes().size() != 1) {
            throw new RestoreException("the checkpoint holds " + cp.processes().size()
                    + " processes: restoring process trees is not supported yet");
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
            awaitZombieReaped(originalPid);
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

    /**
     * A process just dumped and killed on this host stays a zombie until its parent reaps it (init
     * here took ~1.4 s); give that up to 10 s rather than call its pid taken.
     */
    private static void awaitZombieReaped(int pid) {
        Path stat = Path.of("/proc", Integer.toString(pid), "stat");
        for (int i = 0; i < 1000 && isZombie(stat); i++) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
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
