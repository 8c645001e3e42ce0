package io.lazymig.images;

import java.util.Arrays;
import java.util.Objects;

/**
 * The registers of the (single) thread: the general registers and the raw XSAVE area exactly as
 * PTRACE_GETREGSET NT_X86_XSTATE returned it (restore must set back exactly these bytes), with the
 * layout of the CPU it came from. A 512-byte area is a plain FXSAVE image (no XSAVE on that CPU).
 */
public record Registers(UserRegs user, byte[] xstate, XsaveLayout layout) {
    /** Bound on the xstate area (today's largest, with AMX tiles, is about 11 KiB). */
    public static final int MAX_XSTATE = 64 * 1024;

    public Registers {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(layout, "layout");
        int n = xstate.length;
        if (n != XsaveLayout.LEGACY_SIZE && (n < XsaveLayout.EXTENDED_START || n > MAX_XSTATE)) {
            throw new IllegalArgumentException("xstate area of " + n + " bytes: expected 512, or "
                    + XsaveLayout.EXTENDED_START + ".." + MAX_XSTATE);
        }
        xstate = xstate.clone();
    }

    /** A copy of the raw area. */
    @Override
    public byte[] xstate() {
        return xstate.clone();
    }

    public int xstateSize() {
        return xstate.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Registers r && user.equals(r.user) && Arrays.equals(xstate, r.xstate) && layout.equals(r.layout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(user, Arrays.hashCode(xstate), layout);
    }

    @Override
    public String toString() {
        return "Registers[" + user + ", xstate " + xstate.length + " bytes, " + layout + "]";
    }
}
