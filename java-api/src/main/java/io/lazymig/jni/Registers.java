package io.lazymig.jni;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * A view of x86_64 {@code struct user_regs_struct} ({@code NT_PRSTATUS}) in a direct buffer:
 * named getters and setters at the offsets C reports ({@code offsetof}), never Java's own idea
 * of the layout. Setters return {@code this} so an injected call reads as one chain. Not
 * thread-safe; one instance per use.
 */
public final class Registers {
    /** {@code sizeof(struct user_regs_struct)}. */
    public static final int SIZE = (int) Ptrace.layout("USER_REGS_SIZE");

    /** The register names in struct order (as C orders the offsets). */
    public static final List<String> NAMES;

    private static final int R15 = offset("r15");
    private static final int R14 = offset("r14");
    private static final int R13 = offset("r13");
    private static final int R12 = offset("r12");
    private static final int RBP = offset("rbp");
    private static final int RBX = offset("rbx");
    private static final int R11 = offset("r11");
    private static final int R10 = offset("r10");
    private static final int R9 = offset("r9");
    private static final int R8 = offset("r8");
    private static final int RAX = offset("rax");
    private static final int RCX = offset("rcx");
    private static final int RDX = offset("rdx");
    private static final int RSI = offset("rsi");
    private static final int RDI = offset("rdi");
    private static final int ORIG_RAX = offset("orig_rax");
    private static final int RIP = offset("rip");
    private static final int CS = offset("cs");
    private static final int EFLAGS = offset("eflags");
    private static final int RSP = offset("rsp");
    private static final int SS = offset("ss");
    private static final int FS_BASE = offset("fs_base");
    private static final int GS_BASE = offset("gs_base");
    private static final int DS = offset("ds");
    private static final int ES = offset("es");
    private static final int FS = offset("fs");
    private static final int GS = offset("gs");

    private static final Map<String, Integer> OFFSETS;

    static {
        if (Ptrace.layout("USER_REGS_FIELD_SIZE") != Long.BYTES) {
            throw new ExceptionInInitializerError("user_regs_struct fields are not 8 bytes wide");
        }
        List<String> names = new ArrayList<>(List.of("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs"));
        names.sort(Comparator.comparingInt(Registers::offset));
        Map<String, Integer> offsets = new LinkedHashMap<>();
        for (String n : names) {
            offsets.put(n, offset(n));
        }
        NAMES = Collections.unmodifiableList(names);
        OFFSETS = Collections.unmodifiableMap(offsets);
    }

    private final ByteBuffer buf;
    private final long address;

    private Registers(ByteBuffer buf) {
        this.buf = buf;
        this.address = Buffers.address(buf);
    }

    private static int offset(String name) {
        return (int) Ptrace.layout("REG_OFFSET_" + name);
    }

    /** A zeroed register set in a new direct buffer. */
    public static Registers allocate() {
        return new Registers(ByteBuffer.allocateDirect(SIZE).order(ByteOrder.nativeOrder()));
    }

    /**
     * A view of {@code buf} from its position: a direct buffer with at least {@link #SIZE} bytes
     * remaining (e.g. a register image read from a file). The view shares the bytes.
     */
    public static Registers wrap(ByteBuffer buf) {
        if (!buf.isDirect()) {
            throw new IllegalArgumentException("Registers need a direct buffer");
        }
        if (buf.remaining() < SIZE) {
            throw new IllegalArgumentException("Registers need " + SIZE + " bytes, buffer has " + buf.remaining());
        }
        ByteBuffer view = buf.slice();
        view.limit(SIZE);
        return new Registers(view.order(ByteOrder.nativeOrder()));
    }

    /** An independent copy. */
    public Registers copy() {
        return allocate().copyFrom(this);
    }

    /** Overwrites every register with {@code other}'s. */
    public Registers copyFrom(Registers other) {
        buf.clear();
        buf.put(other.buf.duplicate().clear());
        buf.clear();
        return this;
    }

    /** The raw bytes (a read-write view of exactly {@link #SIZE} bytes), e.g. to store them. */
    public ByteBuffer buffer() {
        return buf.duplicate().clear().order(ByteOrder.nativeOrder());
    }

    long address() {
        return address;
    }

    /** The register {@code name} (one of {@link #NAMES}). */
    public long get(String name) {
        return buf.getLong(offsetOf(name));
    }

    /** Sets the register {@code name} (one of {@link #NAMES}). */
    public Registers set(String name, long value) {
        buf.putLong(offsetOf(name), value);
        return this;
    }

    private static int offsetOf(String name) {
        Integer off = OFFSETS.get(name);
        if (off == null) {
            throw new IllegalArgumentException("no register named " + name + "; known: " + NAMES);
        }
        return off;
    }

    public long r15() {
        return buf.getLong(R15);
    }

    public Registers setR15(long value) {
        buf.putLong(R15, value);
        return this;
    }

    public long r14() {
        return buf.getLong(R14);
    }

    public Registers setR14(long value) {
        buf.putLong(R14, value);
        return this;
    }

    public long r13() {
        return buf.getLong(R13);
    }

    public Registers setR13(long value) {
        buf.putLong(R13, value);
        return this;
    }

    public long r12() {
        return buf.getLong(R12);
    }

    public Registers setR12(long value) {
        buf.putLong(R12, value);
        return this;
    }

    public long rbp() {
        return buf.getLong(RBP);
    }

    public Registers setRbp(long value) {
        buf.putLong(RBP, value);
        return this;
    }

    public long rbx() {
        return buf.getLong(RBX);
    }

    public Registers setRbx(long value) {
        buf.putLong(RBX, value);
        return this;
    }

    public long r11() {
        return buf.getLong(R11);
    }

    public Registers setR11(long value) {
        buf.putLong(R11, value);
        return this;
    }

    public long r10() {
        return buf.getLong(R10);
    }

    public Registers setR10(long value) {
        buf.putLong(R10, value);
        return this;
    }

    public long r9() {
        return buf.getLong(R9);
    }

    public Registers setR9(long value) {
        buf.putLong(R9, value);
        return this;
    }

    public long r8() {
        return buf.getLong(R8);
    }

    public Registers setR8(long value) {
        buf.putLong(R8, value);
        return this;
    }

    public long rax() {
        return buf.getLong(RAX);
    }

    public Registers setRax(long value) {
        buf.putLong(RAX, value);
        return this;
    }

    public long rcx() {
        return buf.getLong(RCX);
    }

    public Registers setRcx(long value) {
        buf.putLong(RCX, value);
        return this;
    }

    public long rdx() {
        return buf.getLong(RDX);
    }

    public Registers setRdx(long value) {
        buf.putLong(RDX, value);
        return this;
    }

    public long rsi() {
        return buf.getLong(RSI);
    }

    public Registers setRsi(long value) {
        buf.putLong(RSI, value);
        return this;
    }

    public long rdi() {
        return buf.getLong(RDI);
    }

    public Registers setRdi(long value) {
        buf.putLong(RDI, value);
        return this;
    }

    public long origRax() {
        return buf.getLong(ORIG_RAX);
    }

    public Registers setOrigRax(long value) {
        buf.putLong(ORIG_RAX, value);
        return this;
    }

    public long rip() {
        return buf.getLong(RIP);
    }

    public Registers setRip(long value) {
        buf.putLong(RIP, value);
        return this;
    }

    public long cs() {
        return buf.getLong(CS);
    }

    public Registers setCs(long value) {
        buf.putLong(CS, value);
        return this;
    }

    public long eflags() {
        return buf.getLong(EFLAGS);
    }

    public Registers setEflags(long value) {
        buf.putLong(EFLAGS, value);
        return this;
    }

    public long rsp() {
        return buf.getLong(RSP);
    }

    public Registers setRsp(long value) {
        buf.putLong(RSP, value);
        return this;
    }

    public long ss() {
        return buf.getLong(SS);
    }

    public Registers setSs(long value) {
        buf.putLong(SS, value);
        return this;
    }

    public long fsBase() {
        return buf.getLong(FS_BASE);
    }

    public Registers setFsBase(long value) {
        buf.putLong(FS_BASE, value);
        return this;
    }

    public long gsBase() {
        return buf.getLong(GS_BASE);
    }

    public Registers setGsBase(long value) {
        buf.putLong(GS_BASE, value);
        return this;
    }

    public long ds() {
        return buf.getLong(DS);
    }

    public Registers setDs(long value) {
        buf.putLong(DS, value);
        return this;
    }

    public long es() {
        return buf.getLong(ES);
    }

    public Registers setEs(long value) {
        buf.putLong(ES, value);
        return this;
    }

    public long fs() {
        return buf.getLong(FS);
    }

    public Registers setFs(long value) {
        buf.putLong(FS, value);
        return this;
    }

    public long gs() {
        return buf.getLong(GS);
    }

    public Registers setGs(long value) {
        buf.putLong(GS, value);
        return this;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Registers && ((Registers) o).buf.duplicate().clear().equals(buf.duplicate().clear());
    }

    @Override
    public int hashCode() {
        return buf.duplicate().clear().hashCode();
    }

    @Override
    public String toString() {
        StringJoiner sj = new StringJoiner(", ", "Registers{", "}");
        for (String n : NAMES) {
            sj.add(n + "=0x" + Long.toHexString(get(n)));
        }
        return sj.toString();
    }
}
