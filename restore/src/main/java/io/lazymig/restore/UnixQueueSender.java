package io.lazymig.restore;

import io.lazymig.jni.Errno;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.Sockets;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Sends a unix socket's dumped queue again from one socket of the process being restored
 * (injected sendto / sendmsg with MSG_DONTWAIT: nobody reads the queue during restore, so a send
 * that waited would wait for ever), however the kernel takes it, as CRIU's queue restore does:
 * a stream's bytes as far as each send goes; when the sending socket's buffer is full (EAGAIN:
 * the queue held more than the socket's SO_SNDBUF at dump allows, after the program lowered it or
 * as accounted now; for a datagram longer than the buffer allows, EMSGSIZE) its SO_SNDBUF is
 * doubled (SO_SNDBUFFORCE) until the queue fits, and put back
 * to what it was by {@link #finish}; when the kernel has no memory for a packet (ENOMEM, ENOBUFS) a
 * stream's chunk is halved, down to a page, and a datagram, which cannot be split, is tried again
 * after a short wait, for about a second. One instance per sending socket.
 */
final class UnixQueueSender {
    /** A stream's smallest chunk after halving; a datagram is never split. */
    private static final int MIN_CHUNK = 4096;
    /** How often a packet the kernel has no memory for is tried again, {@link #WAIT_MS} apart. */
    private static final int MEMORY_RETRIES = 100;
    private static final int WAIT_MS = 10;
    /** The largest SO_SNDBUF (as getsockopt reports it) the queue may need before restore gives up. */
    private static final long MAX_SNDBUF = 1L << 30;
    /** struct msghdr and struct cmsghdr on x86-64 (the only architecture lazymig runs on). */
    private static final int MSGHDR_SIZE = 56;
    private static final int CMSGHDR_SIZE = 16;
    private static final int SCM_RIGHTS = 1;

    private final Injector in;
    private final long sfd;
    private final boolean stream;
    private final String what;
    /** SO_SNDBUF (as getsockopt reports it) before the first raise; -1: never raised. */
    private int sndbufBefore = -1;

    UnixQueueSender(Injector in, long sfd, boolean stream, String what) {
        this.in = in;
        this.sfd = sfd;
        this.stream = stream;
        this.what = what;
    }

    /**
     * Sends one packet (a stream's bytes), to {@code name} when given, with the fds {@code rights}
     * (open in the process) as one SCM_RIGHTS message riding on its first byte; all of it, or an error.
     */
    void send(byte[] data, byte[] name, long[] rights) throws IOException {
        long size = Math.max((data.length + 4095L) & ~4095L, 4096);
        long buf = in.call("mmap (queue of " + what + ")", Syscalls.MMAP, 0, size,
                Syscalls.PROT_READ | Syscalls.PROT_WRITE, Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0);
        try {
            if (data.length > 0) {
                ByteBuffer b = ByteBuffer.allocateDirect(data.length);
                b.put(0, data);
                ProcessMemory.write(in.pid(), buf, b);
            }
            int off = 0;
            int chunk = Math.max(data.length, 1);
            int retries = 0;
            long[] pending = rights;
            do {
                int len = stream ? Math.min(chunk, data.length - off) : data.length;
                long n = sendOnce(buf + off, len, name, pending);
                if (!Syscalls.isError(n) && (n > 0 || len == 0)) {
                    if (!stream && n != data.length) {
                        throw failure(data, rights, "sent " + n);
                    }
                    off += (int) n;
                    pending = new long[0]; // the fds rode on the first bytes taken
                    continue;
                }
                int err = Syscalls.isError(n) ? Syscalls.errno(n) : Errno.EAGAIN;
                if (err == Errno.EAGAIN || (!stream && err == Errno.EMSGSIZE)) {
                    // a datagram longer than SO_SNDBUF allows is EMSGSIZE: the same cure
                    growSendBuffer(data, rights, off);
                } else if (err == Errno.ENOMEM || err == Errno.ENOBUFS) {
                    if (stream && chunk > MIN_CHUNK) {
                        chunk = Math.max(MIN_CHUNK, chunk / 2);
                    } else if (++retries > MEMORY_RETRIES) {
                        throw failure(data, rights, Errno.name(err) + " for " + (MEMORY_RETRIES * WAIT_MS) + " ms");
                    } else {
                        pause();
                    }
                } else {
                    throw failure(data, rights, Errno.name(err) + (off > 0 ? " after " + off + " byte(s)" : ""));
                }
            } while (off < data.length);
        } finally {
            in.raw(Syscalls.MUNMAP, buf, size);
        }
    }

    /** Puts SO_SNDBUF back as it was before the queue needed more room (the queued bytes stay). */
    void finish() throws IOException {
        if (sndbufBefore >= 0) {
            new SocketOptionsWriter(in, (int) sfd, what).set(Sockets.SOL_SOCKET, Sockets.SO_SNDBUFFORCE,
                    "SO_SNDBUFFORCE", sndbufBefore / 2);
            sndbufBefore = -1;
        }
    }

    /** Doubles the sending socket's SO_SNDBUF (SO_SNDBUFFORCE takes half what getsockopt reports). */
    private void growSendBuffer(byte[] data, long[] rights, int off) throws IOException {
        int now = sndbuf();
        if (now >= MAX_SNDBUF) {
            throw failure(data, rights, "no room after " + off + " byte(s) even with a send buffer of " + now + " bytes");
        }
        if (sndbufBefore < 0) {
            sndbufBefore = now;
        }
        new SocketOptionsWriter(in, (int) sfd, what).set(Sockets.SOL_SOCKET, Sockets.SO_SNDBUFFORCE, "SO_SNDBUFFORCE", now);
    }

    private int sndbuf() throws IOException {
        in.resetScratch();
        ByteBuffer b = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder()).putInt(8, 4);
        long at = in.put(b);
        long rc = in.raw(Syscalls.GETSOCKOPT, sfd, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, at, at + 8);
        if (Syscalls.isError(rc)) {
            throw new RestoreException(what + ": getsockopt(SO_SNDBUF) failed: " + Errno.name(Syscalls.errno(rc)));
        }
        ByteBuffer v = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        in.read(at, v);
        return v.getInt(0);
    }

    /** One injected send of {@code len} bytes at {@code at}; the kernel's answer (bytes taken, or -errno). */
    private long sendOnce(long at, int len, byte[] name, long[] rights) throws IOException {
        long addr = 0;
        int addrLen = 0;
        in.resetScratch();
        if (name != null) {
            ByteBuffer a = UnixSockOpener.sockaddr(name);
            addr = in.put(a);
            addrLen = a.capacity();
        }
        if (rights.length == 0) {
            return in.raw(Syscalls.SENDTO, sfd, at, len, Sockets.MSG_DONTWAIT, addr, addrLen);
        }
        int cmsgLen = CMSGHDR_SIZE + 4 * rights.length;
        ByteBuffer c = ByteBuffer.allocateDirect((cmsgLen + 7) & ~7).order(ByteOrder.nativeOrder());
        c.putLong(0, cmsgLen).putInt(8, Sockets.SOL_SOCKET).putInt(12, SCM_RIGHTS);
        for (int k = 0; k < rights.length; k++) {
            c.putInt(CMSGHDR_SIZE + 4 * k, (int) rights[k]);
        }
        long control = in.put(c);
        ByteBuffer iov = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder());
        iov.putLong(0, at).putLong(8, len);
        long iovAt = in.put(iov);
        ByteBuffer h = ByteBuffer.allocateDirect(MSGHDR_SIZE).order(ByteOrder.nativeOrder());
        h.putLong(0, addr).putInt(8, addrLen).putLong(16, iovAt).putLong(24, 1).putLong(32, control)
                .putLong(40, c.capacity()).putInt(48, 0);
        long hdr = in.put(h);
        return in.raw(Syscalls.SENDMSG, sfd, hdr, Sockets.MSG_DONTWAIT);
    }

    private RestoreException failure(byte[] data, long[] rights, String why) {
        return new RestoreException("cannot queue " + data.length + " byte(s)"
                + (rights.length > 0 ? " with " + rights.length + " fd(s)" : "") + " again on " + what + ": " + why);
    }

    private static void pause() throws RestoreException {
        try {
            Thread.sleep(WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RestoreException("interrupted while waiting for memory to queue a packet again");
        }
    }
}
