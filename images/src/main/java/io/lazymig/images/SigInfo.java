package io.lazymig.images;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One queued signal, as its raw {@code siginfo_t} (128 bytes on x86_64, little-endian): what
 * PTRACE_PEEKSIGINFO reads from a pending queue at dump and rt_sigqueueinfo / rt_tgsigqueueinfo
 * queue again at restore. CRIU's {@code siginfo_entry} holds exactly these bytes. The three ints
 * every siginfo starts with are {@link #signo()}, {@link #errno()} and {@link #code()}; the rest
 * (sender pid and uid, sigqueue value, fault address, ...) depends on the code and is kept as is.
 */
public record SigInfo(byte[] raw) {
    /** sizeof(siginfo_t). */
    public static final int SIZE = 128;
    /** si_code of kill(2) (SI_USER) and of tgkill(2) (SI_TKILL); sigqueue(3) gives SI_QUEUE. */
    public static final int SI_USER = 0;
    public static final int SI_QUEUE = -1;
    public static final int SI_TKILL = -6;

    public SigInfo {
        if (raw == null || raw.length != SIZE) {
            throw new IllegalArgumentException("a siginfo is " + SIZE + " bytes, got "
                    + (raw == null ? "none" : raw.length));
        }
        raw = raw.clone();
        int signo = le(raw).getInt(0);
        if (signo < 1 || signo > SigAction.SIGMAX) {
            throw new IllegalArgumentException("siginfo of signal " + signo + " (1.." + SigAction.SIGMAX + ")");
        }
    }

    /** A siginfo of signal {@code signo} with code {@code code}, the sender {@code pid}/{@code uid} and a sigqueue value. */
    public static SigInfo of(int signo, int code, int pid, int uid, long value) {
        ByteBuffer b = le(new byte[SIZE]);
        b.putInt(0, signo).putInt(8, code).putInt(16, pid).putInt(20, uid).putLong(24, value);
        return new SigInfo(b.array());
    }

    @Override
    public byte[] raw() {
        return raw.clone();
    }

    public int signo() {
        return le(raw).getInt(0);
    }

    public int errno() {
        return le(raw).getInt(4);
    }

    public int code() {
        return le(raw).getInt(8);
    }

    /** si_pid of a signal sent by a process (kill, tgkill, sigqueue: codes <= 0). */
    public int senderPid() {
        return le(raw).getInt(16);
    }

    /** si_value (sival_ptr / sival_int) of a sigqueue'd signal. */
    public long value() {
        return le(raw).getLong(24);
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SigInfo s && Arrays.equals(raw, s.raw);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(raw);
    }

    @Override
    public String toString() {
        return "siginfo(signo " + signo() + ", code " + code() + ", pid " + senderPid() + ", value 0x"
                + Long.toHexString(value()) + ")";
    }
}
