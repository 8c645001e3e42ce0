package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.user_x86_fpregs_entry;
import io.lazymig.images.proto.user_x86_xsave_entry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Raw XSAVE area ↔ CRIU's named fpregs/xsave fields. */
class XsaveTest {
    @Test
    void legacyRegionMapsToFixedOffsets() {
        Registers r = Samples.registers();
        ByteBuffer a = ByteBuffer.wrap(r.xstate()).order(ByteOrder.LITTLE_ENDIAN);
        user_x86_fpregs_entry fp = ProtoConvert.fpregsToProto(r);
        assertEquals(a.getShort(0) & 0xFFFF, fp.getCwd());
        assertEquals(a.getShort(6) & 0xFFFF, fp.getFop());
        assertEquals(a.getLong(8), fp.getRip());
        assertEquals(a.getInt(24), fp.getMxcsr());
        assertEquals(a.getInt(32), fp.getStSpace(0));
        assertEquals(a.getInt(160 + 4 * 63), fp.getXmmSpace(63));
        assertEquals(a.getInt(508), fp.getPadding(23));
        user_x86_xsave_entry x = fp.getXsave();
        assertEquals(0xe7, x.getXstateBv());
        assertEquals(a.getInt(576), x.getYmmhSpace(0));
        assertEquals(a.getLong(832), x.getOpmaskReg(0), "AMD: opmask right after AVX");
        assertEquals(a.getLong(896 + 8 * 63), x.getZmmUpper(63));
        assertEquals(a.getLong(1408 + 8 * 127), x.getHi16Zmm(127));
        assertArrayEquals(r.xstate(), fp.getLazymigXsaveArea().toByteArray());
    }

    @Test
    void criuFieldsAloneRebuildTheArea() {
        // An area whose bytes all live in CRIU's fields (zero elsewhere) must come back bit for bit.
        XsaveLayout layout = SyntheticCpu.INTEL.layout(SyntheticCpu.AVX512_MPX_PKRU);
        byte[] area = new byte[layout.size()];
        java.util.Random random = new java.util.Random(3);
        ByteBuffer a = ByteBuffer.wrap(area).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 512; i++) {
            area[i] = (byte) random.nextInt();
        }
        a.putInt(4, a.getInt(4) & 0xFFFF_0000 | 0xFF); // twd is 16 bits, fop the next 16
        a.putLong(512, 0x2ffL);
        for (XsaveLayout.Component c : layout.components()) {
            for (int i = c.offset(); i < c.end(); i++) {
                area[i] = (byte) random.nextInt();
            }
        }
        Registers original = new Registers(Samples.regs(), area, layout);
        user_x86_fpregs_entry criuOnly = ProtoConvert.fpregsToProto(original).toBuilder()
                .clearLazymigXsaveArea().clearLazymigXsaveLayout().build();
        Registers rebuilt = ProtoConvert.registersFromProto(Samples.regs(), criuOnly, layout);
        assertArrayEquals(area, rebuilt.xstate());
        assertEquals(original, rebuilt);
    }

    @Test
    void rebuildInAnotherLayoutMovesComponents() {
        Registers amd = Samples.registers();
        user_x86_fpregs_entry criuOnly = ProtoConvert.fpregsToProto(amd).toBuilder()
                .clearLazymigXsaveArea().clearLazymigXsaveLayout().build();
        XsaveLayout intel = SyntheticCpu.INTEL.layout(SyntheticCpu.AVX512);
        Registers onIntel = ProtoConvert.registersFromProto(Samples.regs(), criuOnly, intel);
        assertEquals(1664 + 1024, onIntel.xstateSize(), "the synthetic Intel table's HI16_ZMM end");
        ByteBuffer from = ByteBuffer.wrap(amd.xstate()).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer to = ByteBuffer.wrap(onIntel.xstate()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(from.getLong(832), to.getLong(1088));
        assertEquals(from.getLong(1408), to.getLong(1664));
    }

    @Test
    void legacyOnlyArea() {
        byte[] fxsave = new byte[512];
        fxsave[24] = (byte) 0x80;
        fxsave[25] = 0x1f;
        Registers r = new Registers(Samples.regs(), fxsave, XsaveLayout.LEGACY);
        user_x86_fpregs_entry fp = ProtoConvert.fpregsToProto(r);
        assertTrue(!fp.hasXsave());
        assertEquals(0x1f80, fp.getMxcsr());
        Registers back = ProtoConvert.registersFromProto(Samples.regs(),
                fp.toBuilder().clearLazymigXsaveArea().clearLazymigXsaveLayout().build(), SyntheticCpu.amdAvx512());
        assertEquals(r, back);
    }

    @Test
    void shortCriuArraysAreRejected() {
        user_x86_fpregs_entry fp = ProtoConvert.fpregsToProto(Samples.registers()).toBuilder()
                .clearLazymigXsaveArea().clearLazymigXsaveLayout().clearStSpace().addStSpace(1).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProtoConvert.registersFromProto(Samples.regs(), fp, SyntheticCpu.amdAvx512()));
        assertEquals("fpregs.st_space has 1 words, expected 32", e.getMessage());
    }

    @Test
    void layoutFromCpuidPlacesEveryEnabledComponent() {
        // Sizes below are the synthetic tables' last offset plus its size, not a measurement.
        SyntheticCpu amdCpu = SyntheticCpu.AMD.recording();
        XsaveLayout amd = amdCpu.layout(SyntheticCpu.AVX512);
        assertEquals(List.of(new XsaveLayout.Component(2, 576, 256), new XsaveLayout.Component(5, 832, 64),
                new XsaveLayout.Component(6, 896, 512), new XsaveLayout.Component(7, 1408, 1024)), amd.components());
        assertEquals(1408 + 1024, amd.size());
        assertEquals(List.of(2, 5, 6, 7), amdCpu.queried, "only the sub-leaves of enabled components");

        XsaveLayout intel = SyntheticCpu.INTEL.layout(SyntheticCpu.AVX512_MPX_PKRU);
        assertEquals(List.of(2, 3, 4, 5, 6, 7, 9), intel.components().stream().map(XsaveLayout.Component::feature).toList());
        assertEquals(new XsaveLayout.Component(5, 1088, 64), intel.find(XsaveLayout.FEATURE_OPMASK).orElseThrow());
        assertEquals(2688 + 8, intel.size());

        XsaveLayout amx = SyntheticCpu.INTEL.layout(SyntheticCpu.AVX512_PKRU_AMX);
        assertEquals(new XsaveLayout.Component(18, 2816, 8192), amx.find(XsaveLayout.FEATURE_XTILEDATA).orElseThrow());
        assertTrue(amx.find(XsaveLayout.FEATURE_BNDREGS).isEmpty(), "MPX is not enabled, its slot stays empty");
        assertEquals(2816 + 8192, amx.size());
        assertTrue(amx.size() <= Registers.MAX_XSTATE, "an AMX area fits the model's bound");

        assertEquals(XsaveLayout.LEGACY, SyntheticCpu.INTEL.layout(0), "XSAVE not enabled");
        assertEquals(XsaveLayout.LEGACY, SyntheticCpu.INTEL.layout(0x3), "x87 and SSE only");
        assertEquals(XsaveLayout.LEGACY_SIZE, XsaveLayout.LEGACY.size());
    }

    @Test
    void componentsCriuHasNoFieldForKeepTheirRoom() {
        // An AMX area: CRIU's fields carry AVX-512 and PKRU; the tiles live only in lazymig's raw area.
        XsaveLayout layout = SyntheticCpu.INTEL.layout(SyntheticCpu.AVX512_PKRU_AMX);
        byte[] area = new byte[layout.size()];
        new java.util.Random(5).nextBytes(area);
        ByteBuffer a = ByteBuffer.wrap(area).order(ByteOrder.LITTLE_ENDIAN);
        a.putLong(512, SyntheticCpu.AVX512_PKRU_AMX);
        for (int i = 520; i < 576; i++) {
            area[i] = 0;
        }
        Registers r = new Registers(Samples.regs(), area, layout);
        user_x86_fpregs_entry fp = ProtoConvert.fpregsToProto(r);
        assertEquals(a.getLong(1088), fp.getXsave().getOpmaskReg(0));
        assertEquals(a.getInt(2688), fp.getXsave().getPkru(0));
        assertEquals(r, ProtoConvert.registersFromProto(Samples.regs(), fp, XsaveLayout.LEGACY), "the raw area wins");
        Registers fromCriu = ProtoConvert.registersFromProto(Samples.regs(),
                fp.toBuilder().clearLazymigXsaveArea().clearLazymigXsaveLayout().build(), layout);
        assertEquals(layout.size(), fromCriu.xstateSize(), "rebuilt at the full size of the layout");
        byte[] rebuilt = fromCriu.xstate();
        for (int i = 2752; i < layout.size(); i++) {
            assertEquals(0, rebuilt[i], "tile byte " + i + " in its init state");
        }
        long bv = ByteBuffer.wrap(rebuilt).order(ByteOrder.LITTLE_ENDIAN).getLong(512);
        assertEquals(SyntheticCpu.AVX512_PKRU_AMX & ~(3L << 17), bv, "XSTATE_BV marks the tiles as in their init state");
    }

    @Test
    void impossibleCpuidComponentsAreRefused() {
        XsaveLayout.CpuidSource supervisor = (leaf, sub) -> new int[] {16, 0, 1, 0};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> XsaveLayout.fromCpuid(1L << 11, supervisor));
        assertEquals("CPUID leaf 0xD sub-leaf 11 (size 16, offset 0): a supervisor component, yet enabled in XCR0 0x800",
                e.getMessage());
        XsaveLayout.CpuidSource empty = (leaf, sub) -> new int[] {0, 576, 0, 0};
        e = assertThrows(IllegalArgumentException.class, () -> XsaveLayout.fromCpuid(0x7, empty));
        assertEquals("CPUID leaf 0xD sub-leaf 2 (size 0, offset 576): bad xsave component 2 at 576 size 0", e.getMessage());
        XsaveLayout.CpuidSource inLegacy = (leaf, sub) -> new int[] {256, 160, 0, 0};
        assertThrows(IllegalArgumentException.class, () -> XsaveLayout.fromCpuid(0x7, inLegacy));
        XsaveLayout.CpuidSource huge = (leaf, sub) -> new int[] {Registers.MAX_XSTATE, 576, 0, 0};
        assertThrows(IllegalArgumentException.class, () -> XsaveLayout.fromCpuid(0x7, huge));
        XsaveLayout.CpuidSource wraps = (leaf, sub) -> new int[] {4096, Integer.MAX_VALUE - 100, 0, 0};
        assertThrows(IllegalArgumentException.class, () -> XsaveLayout.fromCpuid(0x7, wraps));
    }

    @Test
    void areaSizeIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> new Registers(Samples.regs(), new byte[513], XsaveLayout.LEGACY));
        assertThrows(IllegalArgumentException.class,
                () -> new Registers(Samples.regs(), new byte[Registers.MAX_XSTATE + 1], XsaveLayout.LEGACY));
    }

    @Test
    void userRegsMatchStructUserRegs() {
        UserRegs r = Samples.regs();
        ByteBuffer b = ByteBuffer.allocate(UserRegs.SIZE);
        r.write(b);
        assertEquals(216, b.position());
        ByteBuffer le = ByteBuffer.wrap(b.array()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(r.ip(), le.getLong(16 * 8));
        assertEquals(r.origAx(), le.getLong(15 * 8));
        assertEquals(r.fsBase(), le.getLong(21 * 8));
        b.flip();
        assertEquals(r, UserRegs.read(b));
        assertEquals(r, UserRegs.fromArray(r.toArray()));
        assertEquals(r, ProtoConvert.fromProto(ProtoConvert.toProto(r)));
    }
}
