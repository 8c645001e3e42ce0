package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.user_x86_fpregs_entry;
import io.lazymig.images.proto.user_x86_xsave_entry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;
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
        XsaveLayout layout = XsaveLayout.INTEL.only(Set.of(2, 3, 4, 5, 6, 7, 9));
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
        XsaveLayout intel = XsaveLayout.INTEL.only(Set.of(2, 5, 6, 7));
        Registers onIntel = ProtoConvert.registersFromProto(Samples.regs(), criuOnly, intel);
        assertEquals(2688, onIntel.xstateSize());
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
                fp.toBuilder().clearLazymigXsaveArea().clearLazymigXsaveLayout().build(), XsaveLayout.AMD);
        assertEquals(r, back);
    }

    @Test
    void shortCriuArraysAreRejected() {
        user_x86_fpregs_entry fp = ProtoConvert.fpregsToProto(Samples.registers()).toBuilder()
                .clearLazymigXsaveArea().clearLazymigXsaveLayout().clearStSpace().addStSpace(1).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProtoConvert.registersFromProto(Samples.regs(), fp, XsaveLayout.AMD));
        assertEquals("fpregs.st_space has 1 words, expected 32", e.getMessage());
    }

    @Test
    void layoutFromCpuinfo() {
        String amd = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu xsave avx avx2 avx512f avx512dq\n";
        XsaveLayout a = XsaveLayout.fromCpuinfo(amd);
        assertEquals(XsaveLayout.AMD.only(Set.of(2, 5, 6, 7)), a);
        assertEquals(2432, a.size(), "NT_X86_XSTATE size measured on this machine kind");
        String intel = "vendor_id\t: GenuineIntel\nflags\t\t: fpu xsave avx mpx avx512f pku ospke\n";
        XsaveLayout i = XsaveLayout.fromCpuinfo(intel);
        assertEquals(XsaveLayout.INTEL, i);
        assertEquals(2696, i.size());
        assertEquals(XsaveLayout.LEGACY, XsaveLayout.fromCpuinfo("vendor_id : GenuineIntel\nflags : fpu sse2\n"));
        assertEquals(512, XsaveLayout.LEGACY.size());
    }

    @Test
    void hostLayoutIsReadable() throws Exception {
        XsaveLayout host = XsaveLayout.host();
        assertTrue(host.size() >= 512);
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
