package io.lazymig.jni;

/**
 * The CPUID instruction and XCR0 of this CPU, paired with {@code lm_cpuid.c}: what dump and restore
 * need to know the XSAVE layout of this machine (CPUID leaf 0xD) and which state components the
 * kernel enabled for user space (XCR0). The values are the CPU's own; nothing is interpreted here.
 */
public final class Cpuid {
    static {
        NativeLibrary.load();
    }

    /** Indexes of the registers in {@link #query(int, int)}'s result. */
    public static final int EAX = 0;
    public static final int EBX = 1;
    public static final int ECX = 2;
    public static final int EDX = 3;

    private Cpuid() {
    }

    /**
     * CPUID with EAX = {@code leaf} and ECX = {@code subleaf}: {EAX, EBX, ECX, EDX}.
     *
     * @throws NativeException EINVAL when {@code leaf} is above the maximum leaf of its range
     */
    public static int[] query(int leaf, int subleaf) throws NativeException {
        int[] out = new int[4];
        NativeException.check("cpuid(0x" + Integer.toHexString(leaf) + ", " + subleaf + ")", nativeQuery(leaf, subleaf, out));
        return out;
    }

    /**
     * XCR0, read with {@code xgetbv(0)}: bit i is set when the kernel enabled state component i
     * (0 x87, 1 SSE, 2 AVX, 5..7 AVX-512, 9 PKRU, 17..18 AMX, ...). 0 when the kernel did not
     * enable XSAVE (CPUID.1:ECX.OSXSAVE clear).
     */
    public static long enabledXfeatures() {
        return nativeXfeatures();
    }

    private static native int nativeQuery(int leaf, int subleaf, int[] out);

    private static native long nativeXfeatures();
}
