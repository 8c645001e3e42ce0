package io.lazymig.restore;

import io.lazymig.images.Vma;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Moves the stub's [vvar], [vvar_vclock] and [vdso] as one block onto the checkpoint's addresses
 * (KERNEL-FACTS §3.2): same sizes and relative offsets required, since the code in the vdso finds
 * its data by offset; mremap from inside the stub, which owns these special mappings.
 */
final class VdsoBlock {
    private VdsoBlock() {
    }

    static boolean isVdsoName(String name) {
        return name.equals("[vvar]") || name.equals("[vvar_vclock]") || name.equals("[vdso]");
    }

    /** Checks the layouts agree and moves the block; returns the block's new [start, end). */
    static long[] move(Stub stub, List<Vma> checkpointBlock, List<Mapping> stubMaps, long tempAddress) throws IOException {
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
        if (srcStart == dstStart) {
            return new long[] {dstStart, dstEnd};
        }
        if (Long.compareUnsigned(srcStart, dstEnd) < 0 && Long.compareUnsigned(dstStart, srcEnd) < 0) {
            // mremap refuses overlapping ranges: go through a free spot first.
            moveAll(stub, block, srcStart, tempAddress);
            block = block.stream().map(m -> new Mapping(m.start() - srcStart + tempAddress,
                    m.end() - srcStart + tempAddress, m.perms(), m.name())).toList();
            moveAll(stub, block, tempAddress, dstStart);
        } else {
            moveAll(stub, block, srcStart, dstStart);
        }
        return new long[] {dstStart, dstEnd};
    }

    private static void moveAll(Stub stub, List<Mapping> block, long from, long to) throws IOException {
        for (Mapping m : block) {
            long dst = m.start() - from + to;
            stub.call("mremap", Syscalls.MREMAP, m.start(),
                    m.length(), m.length(), Syscalls.MREMAP_MAYMOVE | Syscalls.MREMAP_FIXED, dst);
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
