package io.lazymig.images;

import io.lazymig.images.proto.tcp_stream_entry;

/**
 * {@link TcpStream} ↔ tcp-stream-INO.img: its tcp_stream_entry (CRIU's field numbers, TCP_NODELAY
 * and TCP_CORK in the fields CRIU itself still writes) and the queues' bytes after it, the receive
 * queue first, as CRIU lays them out.
 */
public final class TcpStreamCodec {
    private TcpStreamCodec() {
    }

    public static tcp_stream_entry encode(TcpStream s, boolean nodelay) {
        return tcp_stream_entry.newBuilder().setInqLen(s.inq().length).setInqSeq(s.inqSeq())
                .setOutqLen(s.outq().length).setOutqSeq(s.outqSeq()).setOptMask(s.optMask()).setSndWscale(s.sndWscale())
                .setMssClamp(s.mssClamp()).setRcvWscale(s.rcvWscale()).setTimestamp(s.timestamp()).setCork(s.cork())
                .setNodelay(nodelay).setUnsqLen(s.unsentLen()).setSndWl1(s.sndWl1()).setSndWnd(s.sndWnd())
                .setMaxWindow(s.maxWindow()).setRcvWnd(s.rcvWnd()).setRcvWup(s.rcvWup()).build();
    }

    /**
     * The stream of {@code e} with the queues read after it; a CRIU image without the window fields
     * (CRIU before 3.5) is refused, as restoring without them could stall the connection.
     */
    public static TcpStream decode(tcp_stream_entry e, byte[] inq, byte[] outq) {
        if (Integer.toUnsignedLong(e.getInqLen()) != inq.length || Integer.toUnsignedLong(e.getOutqLen()) != outq.length) {
            throw new IllegalArgumentException("queues of " + inq.length + " and " + outq.length + " bytes, the entry says "
                    + Integer.toUnsignedString(e.getInqLen()) + " and " + Integer.toUnsignedString(e.getOutqLen()));
        }
        if (!e.hasRcvWnd() || !e.hasSndWnd() || !e.hasSndWl1() || !e.hasMaxWindow() || !e.hasRcvWup()) {
            throw new IllegalArgumentException("no window (snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup): not restorable");
        }
        if (Integer.toUnsignedLong(e.getUnsqLen()) > outq.length) {
            throw new IllegalArgumentException(Integer.toUnsignedString(e.getUnsqLen()) + " unsent bytes in a send queue of "
                    + outq.length);
        }
        return new TcpStream(e.getInqSeq(), e.getOutqSeq(), e.getOptMask(), e.getSndWscale(), e.getRcvWscale(),
                e.getMssClamp(), e.getTimestamp(), e.getUnsqLen(), e.getSndWl1(), e.getSndWnd(), e.getMaxWindow(),
                e.getRcvWnd(), e.getRcvWup(), e.getCork(), inq, outq);
    }
}
