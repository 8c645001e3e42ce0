package io.lazymig.jni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RegistersTest {
    @Test
    void layoutComesFromCAndCoversTheStruct() {
        assertEquals(27, Registers.NAMES.size());
        assertEquals(Registers.NAMES.size() * Long.BYTES, Registers.SIZE);
        // Struct order: r15 first, gs last (sys/user.h).
        assertEquals("r15", Registers.NAMES.get(0));
        assertEquals("gs", Registers.NAMES.get(26));
        Registers r = Registers.allocate();
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < Registers.NAMES.size(); i++) {
            r.set(Registers.NAMES.get(i), 0x1000L + i);
        }
        ByteBuffer raw = r.buffer();
        for (int i = 0; i < Registers.NAMES.size(); i++) {
            long v = raw.getLong(i * Long.BYTES);
            seen.add((int) v);
            assertEquals(0x1000L + i, v, Registers.NAMES.get(i));
        }
        assertEquals(27, seen.size());
    }

    @Test
    void namedAccessorsRoundTrip() {
        Registers r = Registers.allocate();
        r.setRip(0x401000).setRsp(0x7ffc0000).setRax(-516).setOrigRax(230).setRdi(1).setRsi(2).setRdx(3)
                .setR10(4).setR8(5).setR9(6).setRbx(7).setRcx(8).setRbp(9).setR11(11).setR12(12).setR13(13)
                .setR14(14).setR15(15).setEflags(0x246).setCs(0x33).setSs(0x2b).setDs(0).setEs(0).setFs(0)
                .setGs(0).setFsBase(0x7f0000001000L).setGsBase(0);
        assertEquals(0x401000, r.rip());
        assertEquals(0x401000, r.get("rip"));
        assertEquals(0x7ffc0000, r.rsp());
        assertEquals(-516, r.rax());
        assertEquals(230, r.origRax());
        assertEquals(230, r.get("orig_rax"));
        assertEquals(1, r.rdi());
        assertEquals(2, r.rsi());
        assertEquals(3, r.rdx());
        assertEquals(4, r.r10());
        assertEquals(5, r.r8());
        assertEquals(6, r.r9());
        assertEquals(7, r.rbx());
        assertEquals(8, r.rcx());
        assertEquals(9, r.rbp());
        assertEquals(11, r.r11());
        assertEquals(12, r.r12());
        assertEquals(13, r.r13());
        assertEquals(14, r.r14());
        assertEquals(15, r.r15());
        assertEquals(0x246, r.eflags());
        assertEquals(0x33, r.cs());
        assertEquals(0x2b, r.ss());
        assertEquals(0x7f0000001000L, r.fsBase());
        assertEquals(0x7f0000001000L, r.get("fs_base"));
        assertEquals(0, r.gsBase());
    }

    @Test
    void wrapSharesBytesAndCopyDoesNot() {
        ByteBuffer raw = ByteBuffer.allocateDirect(Registers.SIZE + 8).order(ByteOrder.nativeOrder());
        raw.position(8);
        Registers view = Registers.wrap(raw);
        view.setR12(0x1122334455667788L);
        assertEquals(0x1122334455667788L, raw.getLong(8 + (Registers.NAMES.indexOf("r12") * Long.BYTES)));
        Registers copy = view.copy();
        assertEquals(view, copy);
        copy.setR12(1);
        assertEquals(0x1122334455667788L, view.r12());
        assertNotEquals(view, copy);
        view.copyFrom(copy);
        assertEquals(1, view.r12());
        assertTrue(view.toString().contains("r12=0x1"));
    }

    @Test
    void badBuffersAndNamesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Registers.wrap(ByteBuffer.allocate(Registers.SIZE)));
        assertThrows(IllegalArgumentException.class, () -> Registers.wrap(ByteBuffer.allocateDirect(Registers.SIZE - 1)));
        assertThrows(IllegalArgumentException.class, () -> Registers.allocate().get("eip"));
        assertThrows(IllegalArgumentException.class, () -> Registers.allocate().set("xmm0", 1));
    }
}
