package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.UserRegs;
import io.lazymig.images.Vma;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Buffers;
import io.lazymig.jni.Cpuid;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Registers;
import io.lazymig.jni.SyscallInjector;
import io.lazymig.jni.SyscallRestart;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
    private static final long FIRST_FREE_CANDIDATE = 0x200000000L;

    /** What to restore and how. */
    public record Options(Path dir, boolean lazy, Path address, boolean anyPid, Path stub, Guardian guardian) {
        public Options(Path dir, boolean lazy, Path address, boolean anyPid, Path stub) {
            this(dir, lazy, address, anyPid, stub, null);
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
        phases.done("read images");
        int pid = spawnStub(o, cp.task().pid());
        phases.done("spawn stub");
        Stub stub = null;
        boolean done = false;
        LazyHandoff handoff = null;
        try {
            // The stub's own syscall instruction serves until the vdso is in place.
            List<Mapping> stubMaps = Mapping.of(pid);
            Mapping text = stubText(stubMaps);
            stub = new Stub(pid, SyscallInjector.findSyscallInstruction(pid, text.start(), text.end()));
            List<Vma> vdso = withStatus(cp.vmas(), Vma.VMA_AREA_VDSO | Vma.VMA_AREA_VVAR);
            long scratch = freeAddress(cp.vmas(), stubMaps, Stub.SCRATCH_SIZE, FIRST_FREE_CANDIDATE);
            long temp = freeAddress(cp.vmas(), stubMaps, 1L << 24, scratch + (1L << 32));
            long[] block = VdsoBlock.move(stub, vdso, stubMaps, temp);
            List<Vma> vdsoOnly = withStatus(vdso, Vma.VMA_AREA_VDSO);
            if (vdsoOnly.isEmpty()) {
                throw new RestoreException("the checkpoint has no [vdso]");
            }
            Vma movedVdso = vdsoOnly.get(0);
            stub.useSyscallAt(SyscallInjector.findSyscallInstruction(pid, movedVdso.start(), movedVdso.end()));
            stub.mapScratch(scratch);
            phases.done("vdso moved");

            AddressSpace space = new AddressSpace(stub, cp, o.lazy());
            space.unmapStub(block, new long[] {scratch, scratch + Stub.SCRATCH_SIZE});
            phases.done("stub unmapped");
            List<Vma> raised = space.mapAll();
            phases.done("VMAs mapped");
            long eager = space.writeEagerPages(o.dir());
            phases.done("eager pages");
            space.protectBack(raised);

            TaskState state = new TaskState(stub, space, cp.task(), cp.files());
            state.restoreMm();
            state.restoreProcessState();
            state.restoreFiles();
            state.restoreSignalActions();
            state.restoreRobustList();
            phases.done("task state");
            if (o.lazy()) {
                if (o.guardian() != null) {
                    o.guardian().beforeHandoff();
                }
                handoff = LazyHandoff.handOver(stub, cp, o.address());
                phases.done("lazy handoff");
                if (o.guardian() != null) {
                    o.guardian().take(handoff);
                    phases.done("guard has the uffd");
                }
            }
            state.restoreRseq();
            state.restoreCreds(); // last: the uffd and PR_SET_MM_MAP above need root's privileges
            Ptrace.setSigmask(pid, cp.task().sigmask());
            stub.unmapScratch();
            setRegisters(pid, cp);
            Ptrace.detach(pid, 0);
            long detached = System.nanoTime();
            phases.done("detached");
            log.debug("restore: {} injected syscalls", stub.injected());
            if (handoff != null) {
                handoff.restoreFinished();
            }
            done = true;
            if (log.isInfoEnabled()) {
                log.info("restore: process {} running after {} ms ({} eager bytes)", pid,
                        String.format(Locale.ROOT, "%.1f", (detached - t0) / 1e6), eager);
            }
            return new Restored(pid, handoff, t0, detached, eager);
        } catch (NativeException e) {
            throw new RestoreException("restore of " + o.dir() + " failed: " + e.getMessage(), e);
        } finally {
            if (!done) {
                killStub(pid);
                if (handoff != null) {
                    handoff.close();
                }
            }
        }
    }

    // Plain loops rather than streams on restore's path: each lambda is a bootstrap on a cold JVM.

    private static Mapping stubText(List<Mapping> stubMaps) throws RestoreException {
        for (Mapping m : stubMaps) {
            if (m.perms().charAt(2) == 'x' && !m.name().startsWith("[")) {
                return m;
            }
        }
        throw new RestoreException("the stub has no executable mapping");
    }

    private static List<Vma> withStatus(List<Vma> vmas, int status) {
        List<Vma> out = new ArrayList<>();
        for (Vma v : vmas) {
            if ((v.status() & status) != 0) {
                out.add(v);
            }
        }
        return out;
    }

    private static void killStub(int pid) {
        if (pid > 0) {
            try {
                Ptrace.killAndReap(pid);
            } catch (IOException ignored) {
                // gone already
            }
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

    /** The general registers (with the syscall-restart fixup for a new task) and the XSAVE area. */
    private static void setRegisters(int pid, Checkpoint cp) throws IOException {
        UserRegs u = cp.registers().user();
        long[] values = u.toArray();
        Registers regs = Registers.allocate();
        for (int i = 0; i < values.length; i++) {
            regs.set(Registers.NAMES.get(i), values[i]);
        }
        SyscallRestart.fixForNewTask(regs);
        Ptrace.setRegisters(pid, regs);
        byte[] xstate = cp.registers().xstate();
        ByteBuffer xs = Buffers.allocatePageAligned(xstate.length);
        xs.put(xstate).flip();
        try {
            Ptrace.setXstate(pid, xs);
        } catch (NativeException e) {
            throw new RestoreException("this CPU refuses the checkpoint's " + xstate.length + "-byte XSAVE area ("
                    + e.getMessage() + "): restore on a host with the same CPU features", e);
        }
    }

    private static boolean isFree(List<long[]> taken, long start, long end) {
        for (long[] r : taken) {
            if (Long.compareUnsigned(start, r[1]) < 0 && Long.compareUnsigned(r[0], end) < 0) {
                return false;
            }
        }
        return true;
    }

    /** A page-aligned range of {@code size} bytes free in the checkpoint's layout and the stub's. */
    static long freeAddress(List<Vma> vmas, List<Mapping> stubMaps, long size, long from) throws RestoreException {
        List<long[]> taken = new ArrayList<>();
        for (Vma v : vmas) {
            taken.add(new long[] {v.start(), v.end()});
        }
        for (Mapping m : stubMaps) {
            taken.add(new long[] {m.start(), m.end()});
        }
        for (long at = from; at < (1L << 46); at += 1L << 32) {
            if (isFree(taken, at, at + size)) {
                return at;
            }
        }
        throw new RestoreException("no free address range of " + size + " bytes for restore's scratch area");
    }
}
