package io.lazymig.jni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** CPUID and XCR0 as this CPU and this kernel report them; nothing here names a CPU model. */
class CpuidTest {
    /** CPUID.1:ECX bit 27: the kernel enabled XSAVE (XGETBV may run). */
    private static final int OSXSAVE = 1 << 27;
    /** Bytes 464..471 of NT_X86_XSTATE: the kernel's copy of XCR0 (software-reserved, asm/user.h). */
    private static final int XCR0_COPY_OFFSET = 464;

    @Test
    void vendorIsTheOneTheKernelSees() throws Exception {
        int[] r = Cpuid.query(0, 0);
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(r[Cpuid.EBX]).putInt(r[Cpuid.EDX]).putInt(r[Cpuid.ECX]);
        String vendor = new String(b.array(), StandardCharsets.US_ASCII);
        String cpuinfo = Files.readString(Path.of("/proc/cpuinfo"));
        assertTrue(cpuinfo.lines().anyMatch(l -> l.startsWith("vendor_id") && l.endsWith(": " + vendor)),
                "CPUID vendor " + vendor + " not in /proc/cpuinfo");
    }

    @Test
    void leavesAboveTheMaximumAreEinval() throws Exception {
        int[] max = Cpuid.query(0, 0);
        int above = max[Cpuid.EAX] + 1;
        NativeException e = assertThrows(NativeException.class, () -> Cpuid.query(above, 0));
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals("cpuid(0x" + Integer.toHexString(above) + ", 0)", e.call());
    }

    @Test
    void enabledXfeaturesAreWhatTheCpuSupports() throws Exception {
        long xcr0 = Cpuid.enabledXfeatures();
        if ((Cpuid.query(1, 0)[Cpuid.ECX] & OSXSAVE) == 0) {
            assertEquals(0, xcr0, "no XSAVE enabled: XCR0 reads as 0");
            return;
        }
        assertEquals(0x3, xcr0 & 0x3, "x87 and SSE are always enabled on x86-64 Linux");
        int[] d = Cpuid.query(0xd, 0);
        long supported = Integer.toUnsignedLong(d[Cpuid.EAX]) | Integer.toUnsignedLong(d[Cpuid.EDX]) << 32;
        assertEquals(0, xcr0 & ~supported, "XCR0 0x" + Long.toHexString(xcr0) + " outside CPUID 0xD.0 0x"
                + Long.toHexString(supported));
    }

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void theKernelsXstateRegsetCarriesTheSameXcr0() throws Exception {
        long xcr0 = Cpuid.enabledXfeatures();
        int pid = Ptrace.spawnTraced("/bin/true", new String[] {"true"}, new String[0], Ptrace.DEFAULT_OPTIONS);
        try {
            if (xcr0 == 0) {
                assertThrows(NativeException.class, () -> Ptrace.getXstate(pid), "no XSAVE: no NT_X86_XSTATE regset");
                return;
            }
            ByteBuffer xs = Ptrace.getXstate(pid).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(xcr0, xs.getLong(XCR0_COPY_OFFSET), "XCR0 in the regset's software-reserved bytes");
        } finally {
            Ptrace.killAndReap(pid);
        }
    }
}
