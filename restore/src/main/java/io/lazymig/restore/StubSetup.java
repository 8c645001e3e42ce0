package io.lazymig.restore;

import io.lazymig.images.Vma;
import io.lazymig.jni.SyscallInjector;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes the spawned stub ready for injection: its own syscall instruction first, then the vdso
 * moved to the checkpoint's address (and its syscall used from there), and a scratch area mapped
 * where neither layout has anything.
 */
final class StubSetup implements RestoreStep {
    private static final long FIRST_FREE_CANDIDATE = 0x200000000L;

    @Override
    public String name() {
        return "vdso moved";
    }

    @Override
    public void run(Restoring r) throws IOException {
        List<Mapping> stubMaps = Mapping.of(r.pid);
        Mapping text = stubText(stubMaps);
        Stub stub = new Stub(r.pid, SyscallInjector.findSyscallInstruction(r.pid, text.start(), text.end()));
        r.stub = stub;
        List<Vma> vmas = r.process.vmas();
        List<Vma> vdso = withStatus(vmas, Vma.VMA_AREA_VDSO | Vma.VMA_AREA_VVAR);
        long scratch = freeAddress(vmas, stubMaps, Stub.SCRATCH_SIZE, FIRST_FREE_CANDIDATE);
        long temp = freeAddress(vmas, stubMaps, 1L << 24, scratch + (1L << 32));
        r.keptBlock = VdsoBlock.move(stub, vdso, stubMaps, temp);
        List<Vma> vdsoOnly = withStatus(vdso, Vma.VMA_AREA_VDSO);
        if (vdsoOnly.isEmpty()) {
            throw new RestoreException("the checkpoint has no [vdso]");
        }
        Vma movedVdso = vdsoOnly.get(0);
        stub.useSyscallAt(SyscallInjector.findSyscallInstruction(r.pid, movedVdso.start(), movedVdso.end()));
        stub.mapScratch(scratch);
        r.keptScratch = new long[] {scratch, scratch + Stub.SCRATCH_SIZE};
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
