package io.lazymig.images;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Synthetic CPUID leaf 0xD tables: the sizes and offsets the two vendors' CPUs report for their user
 * state components, written down here so that the layouts tests use never depend on the CPU that
 * runs them. Every size a test expects is derived from these tables (the last component's offset
 * plus its size), not measured.
 */
final class SyntheticCpu implements XsaveLayout.CpuidSource {
    /** AMD style: no MPX slots, so AVX-512 follows AVX directly. Sub-leaf → {size, offset}. */
    static final SyntheticCpu AMD = new SyntheticCpu(Map.of(
            2, new int[] {256, 576}, 5, new int[] {64, 832}, 6, new int[] {512, 896}, 7, new int[] {1024, 1408},
            9, new int[] {8, 2432}));
    /** Intel style: the MPX slots (3, 4) keep their room, PKRU after AVX-512, AMX tiles (17, 18) last. */
    static final SyntheticCpu INTEL = new SyntheticCpu(Map.of(
            2, new int[] {256, 576}, 3, new int[] {64, 960}, 4, new int[] {64, 1024}, 5, new int[] {64, 1088},
            6, new int[] {512, 1152}, 7, new int[] {1024, 1664}, 9, new int[] {8, 2688},
            17, new int[] {64, 2752}, 18, new int[] {8192, 2816}));

    /** XCR0 of x87, SSE, AVX and AVX-512 (components 0, 1, 2, 5, 6, 7). */
    static final long AVX512 = 0xe7L;
    /** As {@link #AVX512} plus MPX (3, 4) and PKRU (9). */
    static final long AVX512_MPX_PKRU = 0x2ffL;
    /** As {@link #AVX512} plus PKRU and the AMX tiles (17, 18). */
    static final long AVX512_PKRU_AMX = 0x602e7L;

    private final Map<Integer, int[]> subLeaves;
    final List<Integer> queried = new ArrayList<>();

    private SyntheticCpu(Map<Integer, int[]> subLeaves) {
        this.subLeaves = subLeaves;
    }

    /** A copy that records the sub-leaves it is asked for. */
    SyntheticCpu recording() {
        return new SyntheticCpu(subLeaves);
    }

    @Override
    public int[] query(int leaf, int subleaf) {
        if (leaf != XsaveLayout.CPUID_LEAF_XSTATE) {
            throw new IllegalArgumentException("only leaf 0xD is synthetic, asked for 0x" + Integer.toHexString(leaf));
        }
        queried.add(subleaf);
        int[] sizeOffset = subLeaves.getOrDefault(subleaf, new int[] {0, 0});
        // ECX bit 1: aligned to 64 bytes in the compacted format, as the tile data is.
        return new int[] {sizeOffset[0], sizeOffset[1], subleaf == 18 ? 2 : 0, 0};
    }

    /** The layout of the components {@code xcr0} enables on this synthetic CPU. */
    XsaveLayout layout(long xcr0) {
        try {
            return XsaveLayout.fromCpuid(xcr0, this);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The AMD-style AVX-512 layout the sample checkpoints use (2432 bytes: 1408 + 1024). */
    static XsaveLayout amdAvx512() {
        return AMD.layout(AVX512);
    }
}
