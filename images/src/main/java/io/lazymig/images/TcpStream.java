package io.lazymig.images;

import java.util.Arrays;

/**
 * The state of an established TCP connection carried alive (dump and restore --tcp-established;
 * CRIU's tcp_stream_entry): the sequence numbers after the receive queue ({@code inqSeq}, rcv_nxt)
 * and after the send queue ({@code outqSeq}, write_seq), the bytes of both queues (the send
 * queue's last {@code unsentLen} bytes were never sent), the options negotiated at the handshake
 * ({@code optMask}: tcp_info's TCPI_OPT_* bits, with the window scales and the MSS clamp), the
 * timestamp clock, the window (TCP_REPAIR_WINDOW) and TCP_CORK. Sequence numbers and window
 * values are unsigned 32-bit numbers kept in ints.
 */
public record TcpStream(int inqSeq, int outqSeq, int optMask, int sndWscale, int rcvWscale, int mssClamp, int timestamp,
        int unsentLen, int sndWl1, int sndWnd, int maxWindow, int rcvWnd, int rcvWup, boolean cork, byte[] inq,
        byte[] outq) {
    /** tcp_info's option bits (netinet/tcp.h), as CRIU stores them. */
    public static final int TCPI_OPT_TIMESTAMPS = 1;
    public static final int TCPI_OPT_SACK = 2;
    public static final int TCPI_OPT_WSCALE = 4;

    public TcpStream {
        if (unsentLen < 0 || unsentLen > outq.length) {
            throw new IllegalArgumentException("tcp stream: " + unsentLen + " unsent bytes in a send queue of "
                    + outq.length);
        }
        if (sndWscale < 0 || sndWscale > 14 || rcvWscale < 0 || rcvWscale > 14) {
            throw new IllegalArgumentException("tcp stream: window scale " + sndWscale + "/" + rcvWscale
                    + " beyond 14");
        }
        if (mssClamp < 0 || mssClamp > 65535) {
            throw new IllegalArgumentException("tcp stream: MSS clamp " + mssClamp + " out of range");
        }
        inq = inq.clone();
        outq = outq.clone();
    }

    @Override
    public byte[] inq() {
        return inq.clone();
    }

    @Override
    public byte[] outq() {
        return outq.clone();
    }

    public boolean has(int tcpiOpt) {
        return (optMask & tcpiOpt) != 0;
    }

    /** For logs: "12 byte(s) to read, 40 to send (8 never sent)". */
    public String describeQueues() {
        return inq.length + " byte(s) to read, " + outq.length + " to send (" + unsentLen + " never sent)";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TcpStream t && inqSeq == t.inqSeq && outqSeq == t.outqSeq && optMask == t.optMask
                && sndWscale == t.sndWscale && rcvWscale == t.rcvWscale && mssClamp == t.mssClamp
                && timestamp == t.timestamp && unsentLen == t.unsentLen && sndWl1 == t.sndWl1 && sndWnd == t.sndWnd
                && maxWindow == t.maxWindow && rcvWnd == t.rcvWnd && rcvWup == t.rcvWup && cork == t.cork
                && Arrays.equals(inq, t.inq) && Arrays.equals(outq, t.outq);
    }

    @Override
    public int hashCode() {
        return inqSeq * 31 + outqSeq;
    }

    @Override
    public String toString() {
        return "TcpStream[inqSeq=" + Integer.toUnsignedString(inqSeq) + ", outqSeq=" + Integer.toUnsignedString(outqSeq)
                + ", optMask=" + optMask + ", " + describeQueues() + "]";
    }
}
