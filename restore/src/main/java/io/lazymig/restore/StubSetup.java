package io.lazymig.restore;

import io.lazymig.images.Vma;
import io.lazymig.jni.Errno;
import io.lazymig.jni.SyscallBatch;
import io.lazymig.jni.SyscallInjector;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the spawned stubs ready for injection: each one's own syscall instruction first, then a
 * scratch area mapped where neither layout has anything, and the vdso moved to the checkpoint's
 * address (and its syscall used from there). Every process of the tree at once: the scratch areas
 * in one batch ({@link SyscallBatch}), the vdso blocks by a run each process makes from its
 * scratch ({@link SyscallRun#runAcross}); one process after another, with an injection per mremap,
 * a tree of 4 took 5-30 ms here (a single process ~1 ms).
 */
final class StubSetup implements TreeStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");
    private static final long FIRST_FREE_CANDIDATE = 0x200000000L;

    @Override
    public String name() {
        return "vdso moved";
    }

    @Override
    public void runAll(List<Restoring> all) throws IOException {
        long t0 = System.nanoTime();
        List<Stub> stubs = new ArrayList<>(all.size());
        List<SyscallBatch.Call> scratches = new ArrayList<>(all.size());
        long[] at = new long[all.size()];
        List<List<SyscallRun.Call>> moves = new ArrayList<>(all.size());
        List<Vma> vdsos = new ArrayList<>(all.size());
        for (int p = 0; p < all.size(); p++) {
            Restoring r = all.get(p);
            List<Mapping> stubMaps = Mapping.of(r.pid);
            Mapping text = stubText(stubMaps);
            Stub stub = new Stub(r.pid, SyscallInjector.findSyscallInstruction(r.pid, text.start(), text.end()));
            r.stub = stub;
            List<Vma> vmas = r.process.vmas();
            List<Vma> vdso = withStatus(vmas, Vma.VMA_AREA_VDSO | Vma.VMA_AREA_VVAR);
            List<Vma> vdsoOnly = withStatus(vdso, Vma.VMA_AREA_VDSO);
            if (vdsoOnly.isEmpty()) {
                throw new RestoreException("the checkpoint has no [vdso]");
            }
            long scratch = freeAddress(vmas, stubMaps, Stub.SCRATCH_SIZE, FIRST_FREE_CANDIDATE);
            long temp = freeAddress(vmas, stubMaps, 1L << 24, scratch + (1L << 32));
            moves.add(VdsoBlock.moveCalls(vdso, stubMaps, temp));
            r.keptBlock = VdsoBlock.movedTo(vdso);
            r.keptScratch = new long[] {scratch, scratch + Stub.SCRATCH_SIZE};
            stubs.add(stub);
            at[p] = scratch;
            scratches.add(Stub.scratchCall(stub, scratch));
            vdsos.add(vdsoOnly.get(0));
        }
        long t1 = System.nanoTime();
        Stub.mapScratches(stubs, scratches, at);
        long t2 = System.nanoTime();
        long[][] rcs = SyscallRun.runAcross(stubs, moves);
        for (int p = 0; p < rcs.length; p++) {
            for (int i = 0; i < rcs[p].length; i++) {
                if (SyscallRun.failed(rcs[p][i])) {
                    int errno = Syscalls.errno(rcs[p][i]);
                    long[] args = moves.get(p).get(i).args();
                    StringBuilder sb = new StringBuilder("injected mremap(");
                    for (int a = 0; a < args.length; a++) {
                        sb.append(a > 0 ? ", " : "").append("0x").append(Long.toHexString(args[a]));
                    }
                    throw new RestoreException(sb.append(") of the vdso in process ").append(stubs.get(p).pid())
                            .append(" failed: ").append(Errno.name(errno)).append(" (").append(Errno.text(errno))
                            .append(')').toString());
                }
            }
        }
        long t3 = System.nanoTime();
        // this kernel's vdso, the same in every process: its syscall instruction at the same offset in each
        long offset = -1;
        for (int p = 0; p < all.size(); p++) {
            Vma moved = vdsos.get(p);
            if (offset < 0 || moved.length() != vdsos.get(0).length()) {
                long found = SyscallInjector.findSyscallInstruction(all.get(p).pid, moved.start(), moved.end());
                offset = p == 0 ? found - moved.start() : offset;
                stubs.get(p).useSyscallAt(found);
            } else {
                stubs.get(p).useSyscallAt(moved.start() + offset);
            }
        }
        if (log.isDebugEnabled()) {
            log.debug("restore: stubs of {} process(es): read {} us, scratch mapped {} us, vdso moved {} us, its syscall "
                    + "found {} us", all.size(), (t1 - t0) / 1000, (t2 - t1) / 1000, (t3 - t2) / 1000,
                    (System.nanoTime() - t3) / 1000);
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
