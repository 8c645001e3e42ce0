package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Registers;
import io.lazymig.images.UserRegs;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Cpuid;
import io.lazymig.jni.Ptrace;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The layout dump takes from CPUID (what {@link Dumper} stores with every XSAVE area) against what
 * this machine's kernel actually hands out for a traced child: whatever the CPU (Intel or AMD, with or
 * without AVX-512 or AMX), every component the layout places lies inside the NT_X86_XSTATE regset and
 * the layout names exactly the components the kernel says it enabled.
 */
class HostXsaveLayoutTest {
    /** Bytes 464..471 of NT_X86_XSTATE: the kernel's copy of XCR0 (software-reserved, asm/user.h). */
    private static final int XCR0_COPY_OFFSET = 464;
    private static final int XSTATE_BV_OFFSET = XsaveLayout.HEADER_OFFSET;
    private static final int XCOMP_BV_OFFSET = XsaveLayout.HEADER_OFFSET + 8;

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void cpuidLayoutFitsTheKernelsXstateRegset() throws Exception {
        long xcr0 = Cpuid.enabledXfeatures();
        XsaveLayout layout = XsaveLayout.fromCpuid(xcr0, Cpuid::query);
        if (xcr0 == 0) {
            assertEquals(XsaveLayout.LEGACY, layout, "no XSAVE enabled: a legacy FXSAVE area only");
            return;
        }
        int pid = Ptrace.spawnTraced("/bin/true", new String[] {"true"}, new String[0], Ptrace.DEFAULT_OPTIONS);
        ByteBuffer xs;
        try {
            xs = Ptrace.getXstate(pid).order(ByteOrder.LITTLE_ENDIAN);
        } finally {
            Ptrace.killAndReap(pid);
        }
        int length = xs.remaining();
        String context = "XCR0 0x" + Long.toHexString(xcr0) + ", regset of " + length + " bytes, " + layout;
        assertTrue(length >= layout.size(), context);
        for (XsaveLayout.Component c : layout.components()) {
            assertTrue(c.end() <= length, c + " outside the regset: " + context);
        }
        assertEquals(xcr0, xs.getLong(XCR0_COPY_OFFSET), "the kernel's XCR0 is the one CPUID was asked about");
        for (int feature = XsaveLayout.FEATURE_YMM; feature < Long.SIZE; feature++) {
            boolean enabled = (xcr0 & 1L << feature) != 0;
            assertEquals(enabled, layout.find(feature).isPresent(), "component " + feature + ": " + context);
        }
        long xstateBv = xs.getLong(XSTATE_BV_OFFSET);
        assertEquals(0, xstateBv & ~xcr0, "XSTATE_BV 0x" + Long.toHexString(xstateBv) + " outside " + context);
        assertEquals(0, xs.getLong(XCOMP_BV_OFFSET), "NT_X86_XSTATE is in the standard (non-compacted) format");

        byte[] area = new byte[length];
        xs.get(area);
        Registers model = new Registers(UserRegs.fromArray(new long[UserRegs.COUNT]), area, layout);
        assertEquals(length, model.xstateSize(), "the model takes this machine's whole area");
    }
}
