package io.lazymig.images;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The x86_64 general registers, in the order and layout of the kernel's {@code struct user_regs_struct}
 * (what PTRACE_GETREGSET NT_PRSTATUS returns: 27 little-endian u64, {@value #SIZE} bytes), which is
 * also the field order of CRIU's user_x86_regs_entry.
 */
public record UserRegs(long r15, long r14, long r13, long r12, long bp, long bx, long r11, long r10, long r9,
        long r8, long ax, long cx, long dx, long si, long di, long origAx, long ip, long cs, long flags, long sp,
        long ss, long fsBase, long gsBase, long ds, long es, long fs, long gs) {
    /** Number of registers. */
    public static final int COUNT = 27;
    /** Bytes of struct user_regs_struct. */
    public static final int SIZE = COUNT * 8;

    /** From 27 values in struct order. */
    public static UserRegs fromArray(long[] v) {
        if (v.length != COUNT) {
            throw new IllegalArgumentException(v.length + " register values, expected " + COUNT);
        }
        return new UserRegs(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13],
                v[14], v[15], v[16], v[17], v[18], v[19], v[20], v[21], v[22], v[23], v[24], v[25], v[26]);
    }

    /** The 27 values in struct order. */
    public long[] toArray() {
        return new long[] {r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, origAx, ip, cs, flags,
            sp, ss, fsBase, gsBase, ds, es, fs, gs};
    }

    /** Reads struct user_regs_struct from the next {@value #SIZE} bytes of {@code src}. */
    public static UserRegs read(ByteBuffer src) {
        ByteBuffer le = src.slice().order(ByteOrder.LITTLE_ENDIAN);
        long[] v = new long[COUNT];
        for (int i = 0; i < COUNT; i++) {
            v[i] = le.getLong(i * 8);
        }
        src.position(src.position() + SIZE);
        return fromArray(v);
    }

    /** Writes struct user_regs_struct into the next {@value #SIZE} bytes of {@code dst}. */
    public void write(ByteBuffer dst) {
        ByteBuffer le = dst.slice().order(ByteOrder.LITTLE_ENDIAN);
        long[] v = toArray();
        for (int i = 0; i < COUNT; i++) {
            le.putLong(i * 8, v[i]);
        }
        dst.position(dst.position() + SIZE);
    }
}
