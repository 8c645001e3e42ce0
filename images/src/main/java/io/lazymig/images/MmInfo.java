package io.lazymig.images;

import java.util.Arrays;
import java.util.Objects;

/**
 * The mm fields PR_SET_MM_MAP restores (from /proc/PID/stat, brk(0) and /proc/PID/auxv), in CRIU's
 * mm_entry order, plus the saved auxv words (key, value pairs).
 */
public record MmInfo(long startCode, long endCode, long startData, long endData, long startStack, long startBrk,
        long brk, long argStart, long argEnd, long envStart, long envEnd, long[] auxv) {
    /** Bound on auxv words; the kernel keeps far fewer (mm->saved_auxv). */
    public static final int MAX_AUXV_WORDS = 1024;

    public MmInfo {
        if (auxv.length % 2 != 0 || auxv.length > MAX_AUXV_WORDS) {
            throw new IllegalArgumentException("auxv of " + auxv.length + " words: expected an even count up to "
                    + MAX_AUXV_WORDS);
        }
        auxv = auxv.clone();
    }

    /** A copy of the auxv words. */
    @Override
    public long[] auxv() {
        return auxv.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MmInfo m && startCode == m.startCode && endCode == m.endCode && startData == m.startData
                && endData == m.endData && startStack == m.startStack && startBrk == m.startBrk && brk == m.brk
                && argStart == m.argStart && argEnd == m.argEnd && envStart == m.envStart && envEnd == m.envEnd
                && Arrays.equals(auxv, m.auxv);
    }

    @Override
    public int hashCode() {
        return Objects.hash(startCode, endCode, startData, endData, startStack, startBrk, brk, argStart, argEnd,
                envStart, envEnd, Arrays.hashCode(auxv));
    }

    @Override
    public String toString() {
        return String.format("MmInfo[code 0x%x-0x%x data 0x%x-0x%x stack 0x%x brk 0x%x-0x%x arg 0x%x-0x%x env 0x%x-0x%x auxv %d words]",
                startCode, endCode, startData, endData, startStack, startBrk, brk, argStart, argEnd, envStart, envEnd,
                auxv.length);
    }
}
