package io.lazymig.images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Where each extended state component sits in a standard-format (non-compacted) XSAVE area, as the
 * NT_X86_XSTATE regset returns it. Components 0 and 1 (x87, SSE) are always in the 512-byte legacy
 * region and the 64-byte XSAVE header follows, so component 2 (AVX) always starts at 576; the others
 * are placed by the CPU (CPUID leaf 0xD, sub-leaf n: EBX = offset, EAX = size) and differ between
 * vendors. CRIU's image stores components by name, not offset, so converting between the raw area and
 * CRIU's fields needs the layout of the CPU that produced (or will consume) the area.
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

    /** Intel's offsets (fixed since Skylake-SP; MPX slots stay reserved on CPUs without MPX). */
    public static final XsaveLayout INTEL = new XsaveLayout(List.of(
            new Component(FEATURE_YMM, 576, 256), new Component(FEATURE_BNDREGS, 960, 64),
            new Component(FEATURE_BNDCSR, 1024, 64), new Component(FEATURE_OPMASK, 1088, 64),
            new Component(FEATURE_ZMM_HI256, 1152, 512), new Component(FEATURE_HI16_ZMM, 1664, 1024),
            new Component(FEATURE_PKRU, 2688, 8)));
    /** AMD's offsets (no MPX: AVX-512 follows AVX directly). Matches CPUID on this project's AMD EPYC hosts. */
    public static final XsaveLayout AMD = new XsaveLayout(List.of(
            new Component(FEATURE_YMM, 576, 256), new Component(FEATURE_OPMASK, 832, 64),
            new Component(FEATURE_ZMM_HI256, 896, 512), new Component(FEATURE_HI16_ZMM, 1408, 1024),
            new Component(FEATURE_PKRU, 2432, 8)));
    /** No extended components: a legacy FXSAVE area only. */
    public static final XsaveLayout LEGACY = new XsaveLayout(List.of());

    /** Component {@code feature} occupies {@code size} bytes at {@code offset}. */
    public record Component(int feature, int offset, int size) {
        public Component {
            if (feature < 2 || feature > 63 || offset < EXTENDED_START || size <= 0 || offset + size > Registers.MAX_XSTATE) {
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

    /** This layout restricted to the given features. */
    public XsaveLayout only(Set<Integer> features) {
        List<Component> kept = new ArrayList<>();
        for (Component c : components) {
            if (features.contains(c.feature())) {
                kept.add(c);
            }
        }
        return new XsaveLayout(kept);
    }

    /**
     * The layout of this machine's user xstate, from /proc/cpuinfo: the vendor picks {@link #INTEL} or
     * {@link #AMD} offsets and the flags (avx, mpx, avx512f, ospke) pick the components. This is a
     * stand-in for CPUID leaf 0xD, which Java cannot execute.
     */
    public static XsaveLayout host() throws IOException {
        return fromCpuinfo(Files.readString(Path.of("/proc/cpuinfo")));
    }

    static XsaveLayout fromCpuinfo(String cpuinfo) {
        String vendor = "";
        Set<String> flags = Set.of();
        for (String line : cpuinfo.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            if (key.equals("vendor_id") && vendor.isEmpty()) {
                vendor = value;
            } else if (key.equals("flags") && flags.isEmpty()) {
                flags = Set.of(value.split("\\s+"));
            }
        }
        XsaveLayout base = vendor.equals("AuthenticAMD") || vendor.equals("HygonGenuine") ? AMD : INTEL;
        Set<Integer> features = new java.util.HashSet<>();
        if (!flags.contains("xsave")) {
            return LEGACY;
        }
        if (flags.contains("avx")) {
            features.add(FEATURE_YMM);
        }
        if (flags.contains("mpx")) {
            features.add(FEATURE_BNDREGS);
            features.add(FEATURE_BNDCSR);
        }
        if (flags.contains("avx512f")) {
            features.add(FEATURE_OPMASK);
            features.add(FEATURE_ZMM_HI256);
            features.add(FEATURE_HI16_ZMM);
        }
        if (flags.contains("ospke")) {
            features.add(FEATURE_PKRU);
        }
        return base.only(features);
    }
}
