package io.lazymig.images;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Where each extended state component sits in a standard-format (non-compacted) XSAVE area, as the
 * NT_X86_XSTATE regset returns it. Components 0 and 1 (x87, SSE) are always in the 512-byte legacy
 * region and the 64-byte XSAVE header follows, so component 2 (AVX) always starts at 576; the others
 * are placed by the CPU (CPUID leaf 0xD, sub-leaf n: EBX = offset, EAX = size) and differ between
 * vendors and models ({@link #fromCpuid}). CRIU's image stores components by name, not offset, so
 * converting between the raw area and CRIU's fields needs the layout of the CPU that produced (or
 * will consume) the area.
 */
public record XsaveLayout(List<Component> components) {
    public static final int LEGACY_SIZE = 512;
    public static final int HEADER_OFFSET = 512;
    public static final int HEADER_SIZE = 64;
    /** Legacy region plus XSAVE header: the smallest area that can carry any extended component. */
    public static final int EXTENDED_START = LEGACY_SIZE + HEADER_SIZE;

    public static final int FEATURE_YMM = 2;
    public static final int FEATURE_BNDREGS = 3;
    public static final int FEATURE_BNDCSR = 4;
    public static final int FEATURE_OPMASK = 5;
    public static final int FEATURE_ZMM_HI256 = 6;
    public static final int FEATURE_HI16_ZMM = 7;
    public static final int FEATURE_PKRU = 9;
    /** AMX tile configuration and tile data: no CRIU field carries them, but they take room in the area. */
    public static final int FEATURE_XTILECFG = 17;
    public static final int FEATURE_XTILEDATA = 18;

    /** No extended components: a legacy FXSAVE area only. */
    public static final XsaveLayout LEGACY = new XsaveLayout(List.of());

    /** Component {@code feature} occupies {@code size} bytes at {@code offset}. */
    public record Component(int feature, int offset, int size) {
        public Component {
            if (feature < 2 || feature > 63 || offset < EXTENDED_START || size <= 0
                    || (long) offset + size > Registers.MAX_XSTATE) {
                throw new IllegalArgumentException("bad xsave component " + feature + " at " + offset + " size " + size);
            }
        }

        public int end() {
            return offset + size;
        }
    }

    public XsaveLayout {
        List<Component> sorted = new ArrayList<>(components);
        sorted.sort(Comparator.comparingInt(Component::feature));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).feature() == sorted.get(i - 1).feature()) {
                throw new IllegalArgumentException("xsave component " + sorted.get(i).feature() + " listed twice");
            }
        }
        components = List.copyOf(sorted);
    }

    public Optional<Component> find(int feature) {
        for (Component c : components) {
            if (c.feature() == feature) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    /** The size of an area holding every component of this layout. */
    public int size() {
        int size = components.isEmpty() ? LEGACY_SIZE : EXTENDED_START;
        for (Component c : components) {
            size = Math.max(size, c.end());
        }
        return size;
    }

    /** CPUID as {@link #fromCpuid} reads it: {EAX, EBX, ECX, EDX} of one leaf and sub-leaf. */
    @FunctionalInterface
    public interface CpuidSource {
        int[] query(int leaf, int subleaf) throws IOException;
    }

    /** The CPUID leaf that describes the XSAVE state components. */
    public static final int CPUID_LEAF_XSTATE = 0xD;

    /**
     * The exact standard-format layout of the user state components in {@code xfeatures} (XCR0: what
     * the kernel enabled, so what NT_X86_XSTATE carries), from CPUID leaf 0xD: for every bit i >= 2 of
     * {@code xfeatures}, sub-leaf i gives EAX = size and EBX = offset. Components CRIU has no field for
     * (AMX tiles, ...) are part of the layout all the same: they take room in the area. {@code xfeatures}
     * 0 (no XSAVE enabled) or only x87/SSE gives {@link #LEGACY}.
     *
     * @throws IllegalArgumentException when CPUID describes a component that cannot be in a user area
     */
    public static XsaveLayout fromCpuid(long xfeatures, CpuidSource cpuid) throws IOException {
        List<Component> components = new ArrayList<>();
        for (int feature = FEATURE_YMM; feature < Long.SIZE; feature++) {
            if ((xfeatures & 1L << feature) == 0) {
                continue;
            }
            int[] r = cpuid.query(CPUID_LEAF_XSTATE, feature);
            int size = r[0];
            int offset = r[1];
            String where = "CPUID leaf 0xD sub-leaf " + feature + " (size " + Integer.toUnsignedString(size) + ", offset "
                    + Integer.toUnsignedString(offset) + ")";
            if ((r[2] & 1) != 0) {
                throw new IllegalArgumentException(where + ": a supervisor component, yet enabled in XCR0 0x"
                        + Long.toHexString(xfeatures));
            }
            try {
                components.add(new Component(feature, offset, size));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
        }
        return new XsaveLayout(components);
    }
}
