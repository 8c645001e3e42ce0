package io.lazymig.restore;

import io.lazymig.images.Vma;
import io.lazymig.jni.Syscalls;
import java.util.ArrayList;
import java.util.List;

/**
 * Moves the stub's [vvar], [vvar_vclock] and [vdso] as one block onto the checkpoint's addresses
 * (KERNEL-FACTS §3.2): same sizes and relative offsets required, since the code in the vdso finds
 * its data by offset; mremap from inside the stub, which owns these special mappings (a run of
 * its own: {@link StubSetup}).
 */
final class VdsoBlock {
    private VdsoBlock() {
    }

    static boolean isVdsoName(String name) {
        return name.equals("[vvar]") || name.equals("[vvar_vclock]") || name.equals("[vdso]");
    }

    /**
     * Checks the layouts agree; returns the mremap calls that move the block onto the checkpoint's
     * addresses (none when it is there already), for a run the stub makes itself ({@link SyscallRun}).
     */
    static List<SyscallRun.Call> moveCalls(List<Vma> checkpointBlock, List<Mapping> stubMaps, long tempAddress)
            throws RestoreException {
        List<Mapping> block = new ArrayList<>();
        for (Mapping m : stubMaps) {
            if (isVdsoName(m.name())) {
                block.add(m);
            }
        }
        checkSameLayout(checkpointBlock, block);
        long srcStart = block.get(0).start();
        long srcEnd = block.get(block.size() - 1).end();
        long dstStart = checkpointBlock.get(0).start();
        long dstEnd = checkpointBlock.get(checkpointBlock.size() - 1).end();
        List<SyscallRun.Call> calls = new ArrayList<>();
        if (srcStart == dstStart) {
            return calls;
        }
        if (Long.compareUnsigned(srcStart, dstEnd) < 0 && Long.compareUnsigned(dstStart, srcEnd) < 0) {
            // mremap refuses overlapping ranges: go through a free spot first.
            moveAll(calls, block, srcStart, tempAddress);
            List<Mapping> moved = new ArrayList<>();
            for (Mapping m : block) {
                moved.add(new Mapping(m.start() - srcStart + tempAddress, m.end() - srcStart + tempAddress, m.perms(),
                        m.name()));
            }
            moveAll(calls, moved, tempAddress, dstStart);
        } else {
            moveAll(calls, block, srcStart, dstStart);
        }
        return calls;
    }

    /** The block's [start, end) once moved: the checkpoint's. */
    static long[] movedTo(List<Vma> checkpointBlock) {
        return new long[] {checkpointBlock.get(0).start(), checkpointBlock.get(checkpointBlock.size() - 1).end()};
    }

    private static void moveAll(List<SyscallRun.Call> calls, List<Mapping> block, long from, long to) {
        for (Mapping m : block) {
            long dst = m.start() - from + to;
            calls.add(new SyscallRun.Call(Syscalls.MREMAP, m.start(), m.length(), m.length(),
                    Syscalls.MREMAP_MAYMOVE | Syscalls.MREMAP_FIXED, dst));
        }
    }

    private static void checkSameLayout(List<Vma> checkpoint, List<Mapping> here) throws RestoreException {
        boolean same = checkpoint.size() == here.size() && !here.isEmpty();
        for (int i = 0; same && i < here.size(); i++) {
            same = checkpoint.get(i).length() == here.get(i).length()
                    && checkpoint.get(i).start() - checkpoint.get(0).start() == here.get(i).start() - here.get(0).start();
        }
        if (!same) {
            throw new RestoreException("the checkpoint's vdso block " + describeVmas(checkpoint)
                    + " differs from this kernel's " + describeMaps(here)
                    + ": restore on a host running the same kernel as the source");
        }
    }

    private static String describeVmas(List<Vma> vmas) {
        StringBuilder sb = new StringBuilder("[");
        for (Vma v : vmas) {
            sb.append(sb.length() > 1 ? ", " : "").append(v.length() / 4096).append(" pages at +")
                    .append(Long.toHexString(v.start() - vmas.get(0).start()));
        }
        return sb.append(']').toString();
    }

    private static String describeMaps(List<Mapping> maps) {
        StringBuilder sb = new StringBuilder("[");
        for (Mapping m : maps) {
            sb.append(sb.length() > 1 ? ", " : "").append(m.length() / 4096).append(" pages at +")
                    .append(Long.toHexString(m.start() - maps.get(0).start()));
        }
        return sb.append(']').toString();
    }
}
