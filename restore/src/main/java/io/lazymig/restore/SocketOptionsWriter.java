package io.lazymig.restore;

import io.lazymig.images.SocketOptions;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Sockets;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Puts a socket's options back on a new socket in the process being restored, by injected
 * setsockopt: a boolean option only when it was on; a sized one (buffers, keep-alive timings) only
 * when it differs from what the new socket has, so the kernel's defaults and its buffer
 * autotuning stay as they would be for a socket the application never tuned.
 */
final class SocketOptionsWriter {
    private final Injector in;
    private final int fd;
    private final String what;

    SocketOptionsWriter(Injector in, int fd, String what) {
        this.in = in;
        this.fd = fd;
        this.what = what;
    }

    void apply(SocketOptions o, boolean tcp) throws IOException {
        flag(Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, "SO_REUSEADDR", o.reuseaddr());
        flag(Sockets.SOL_SOCKET, Sockets.SO_REUSEPORT, "SO_REUSEPORT", o.reuseport());
        flag(Sockets.SOL_SOCKET, Sockets.SO_KEEPALIVE, "SO_KEEPALIVE", o.keepalive());
        flag(Sockets.SOL_SOCKET, Sockets.SO_BROADCAST, "SO_BROADCAST", o.broadcast());
        flag(Sockets.SOL_SOCKET, Sockets.SO_PASSCRED, "SO_PASSCRED", o.passcred());
        // getsockopt reports twice what was set (the kernel's bookkeeping): set half, forced past rmem_max as CRIU does
        ifDiffers(Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, Sockets.SO_SNDBUFFORCE, "SO_SNDBUFFORCE", o.sndbuf(), o.sndbuf() / 2);
        ifDiffers(Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, Sockets.SO_RCVBUFFORCE, "SO_RCVBUFFORCE", o.rcvbuf(), o.rcvbuf() / 2);
        ifDiffers(Sockets.SOL_SOCKET, Sockets.SO_PRIORITY, Sockets.SO_PRIORITY, "SO_PRIORITY", o.priority(), o.priority());
        ifDiffers(Sockets.SOL_SOCKET, Sockets.SO_RCVLOWAT, Sockets.SO_RCVLOWAT, "SO_RCVLOWAT", o.rcvlowat(), o.rcvlowat());
        ifDiffers(Sockets.SOL_SOCKET, Sockets.SO_MARK, Sockets.SO_MARK, "SO_MARK", o.mark(), o.mark());
        timeval(Sockets.SO_SNDTIMEO, "SO_SNDTIMEO", o.sndTimeoUsec());
        timeval(Sockets.SO_RCVTIMEO, "SO_RCVTIMEO", o.rcvTimeoUsec());
        if (tcp) {
            ifDiffers(Sockets.IPPROTO_TCP, Sockets.TCP_KEEPCNT, Sockets.TCP_KEEPCNT, "TCP_KEEPCNT", o.keepcnt(), o.keepcnt());
            ifDiffers(Sockets.IPPROTO_TCP, Sockets.TCP_KEEPIDLE, Sockets.TCP_KEEPIDLE, "TCP_KEEPIDLE", o.keepidle(), o.keepidle());
            ifDiffers(Sockets.IPPROTO_TCP, Sockets.TCP_KEEPINTVL, Sockets.TCP_KEEPINTVL, "TCP_KEEPINTVL", o.keepintvl(),
                    o.keepintvl());
        }
    }

    void flag(int level, int name, String label, boolean on) throws IOException {
        if (on) {
            set(level, name, label, 1);
        }
    }

    /** Sets an int option unconditionally. */
    void set(int level, int name, String label, int value) throws IOException {
        in.resetScratch();
        long at = in.put(ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putInt(0, value));
        long rc = in.raw(Syscalls.SETSOCKOPT, fd, level, name, at, 4);
        if (Syscalls.isError(rc)) {
            throw new RestoreException(what + ": setsockopt(" + label + ", " + value + ") failed: "
                    + Errno.name(Syscalls.errno(rc)));
        }
    }

    private void ifDiffers(int level, int getName, int setName, String label, int dumped, int toSet) throws IOException {
        if (dumped == 0 && getName != Sockets.SO_PRIORITY && getName != Sockets.SO_MARK) {
            return; // not read at dump (an option this socket lacked)
        }
        if (get(level, getName) != dumped) {
            set(level, setName, label, toSet);
        }
    }

    private int get(int level, int name) throws IOException {
        in.resetScratch();
        ByteBuffer b = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder()).putInt(8, 4);
        long at = in.put(b);
        long rc = in.raw(Syscalls.GETSOCKOPT, fd, level, name, at, at + 8);
        if (Syscalls.isError(rc)) {
            throw new RestoreException(what + ": getsockopt(" + name + ") failed: " + Errno.name(Syscalls.errno(rc)));
        }
        ByteBuffer v = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        in.read(at, v);
        return v.getInt(0);
    }

    private void timeval(int name, String label, long usec) throws IOException {
        if (usec == 0) {
            return;
        }
        in.resetScratch();
        ByteBuffer b = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder()).putLong(0, usec / 1_000_000L)
                .putLong(8, usec % 1_000_000L);
        long at = in.put(b);
        long rc = in.raw(Syscalls.SETSOCKOPT, fd, Sockets.SOL_SOCKET, name, at, 16);
        if (Syscalls.isError(rc)) {
            throw new RestoreException(what + ": setsockopt(" + label + ") failed: " + Errno.name(Syscalls.errno(rc)));
        }
    }
}
