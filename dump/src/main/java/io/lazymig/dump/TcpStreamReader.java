package io.lazymig.dump;

import io.lazymig.images.TcpStream;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Sockets;
import io.lazymig.jni.TcpRepair;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Reads an established TCP connection locked by {@link TcpLocks} (in repair mode, nothing
 * arriving): both queues' lengths and bytes (peeked: the receive queue the application has not
 * read; the send queue's unacknowledged and unsent bytes), their sequence numbers, the options
 * negotiated at the handshake, the MSS clamp, the timestamp clock, the window and TCP_CORK, as
 * CRIU's dump_tcp_conn_state does.
 */
final class TcpStreamReader {
    private TcpStreamReader() {
    }

    static TcpStream read(FileDescriptor fd, String what) throws IOException {
        try {
            TcpRepair.Info info = TcpRepair.info(fd);
            if (info.state() != Sockets.TCP_ESTABLISHED) {
                throw new DumpException(what + " left the ESTABLISHED state (now " + info.state() + ") while being dumped");
            }
            int inqLen = TcpRepair.inq(fd);
            int outqLen = TcpRepair.outq(fd);
            int unsent = TcpRepair.unsentq(fd);
            TcpRepair.selectQueue(fd, TcpRepair.TCP_RECV_QUEUE);
            long inqSeq = TcpRepair.queueSeq(fd);
            byte[] inq = peek(fd, inqLen, what + " receive queue");
            TcpRepair.selectQueue(fd, TcpRepair.TCP_SEND_QUEUE);
            long outqSeq = TcpRepair.queueSeq(fd);
            byte[] outq = peek(fd, outqLen, what + " send queue");
            TcpRepair.selectQueue(fd, TcpRepair.TCP_NO_QUEUE);
            int mss = (int) TcpRepair.getInt(fd, Sockets.IPPROTO_TCP, TcpRepair.TCP_MAXSEG, "TCP_MAXSEG");
            int timestamp = (info.options() & TcpRepair.TCPI_OPT_TIMESTAMPS) != 0
                    ? (int) TcpRepair.getInt(fd, Sockets.IPPROTO_TCP, TcpRepair.TCP_TIMESTAMP, "TCP_TIMESTAMP") : 0;
            boolean cork = TcpRepair.getInt(fd, Sockets.IPPROTO_TCP, TcpRepair.TCP_CORK, "TCP_CORK") != 0;
            TcpRepair.Window w = TcpRepair.window(fd);
            int mask = info.options() & (TcpStream.TCPI_OPT_TIMESTAMPS | TcpStream.TCPI_OPT_SACK
                    | TcpStream.TCPI_OPT_WSCALE);
            return new TcpStream((int) inqSeq, (int) outqSeq, mask, info.sndWscale(), info.rcvWscale(), mss, timestamp,
                    unsent, w.sndWl1(), w.sndWnd(), w.maxWindow(), w.rcvWnd(), w.rcvWup(), cork, inq, outq);
        } catch (NativeException e) {
            throw new DumpException(what + ": cannot read the connection in repair mode: " + e.getMessage(), e);
        }
    }

    /** The whole queue selected, peeked in one call (the kernel copies every segment up to len). */
    private static byte[] peek(FileDescriptor fd, int len, String what) throws IOException {
        if (len == 0) {
            return new byte[0];
        }
        ByteBuffer b = ByteBuffer.allocateDirect(len + 1);
        long n = TcpRepair.recv(fd, b, Sockets.MSG_PEEK | Sockets.MSG_DONTWAIT);
        if (n != len) {
            throw new DumpException(what + ": peeked " + n + " bytes of " + len);
        }
        byte[] out = new byte[len];
        b.get(0, out);
        return out;
    }
}
