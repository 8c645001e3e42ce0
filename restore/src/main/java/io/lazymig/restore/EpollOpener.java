package io.lazymig.restore;

import io.lazymig.images.Epoll;
import io.lazymig.images.EpollWatch;
import io.lazymig.images.FdSlot;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * An epoll instance: epoll_create1 (O_NONBLOCK put back by fcntl), then, once every fd of the
 * table is back ({@link #complete}), each watched fd added with its events (EPOLLET, EPOLLONESHOT
 * ... included) and data. A watched epoll may be added before or after its own watches: epoll
 * follows readiness as it changes.
 */
final class EpollOpener implements FileOpener<Epoll> {
    /** struct epoll_event on x86_64: packed, u32 events then u64 data. */
    static final int EVENT_SIZE = 12;

    @Override
    public Class<Epoll> kind() {
        return Epoll.class;
    }

    @Override
    public long open(Injector in, Epoll file, int fd, ParkedStdio stdio) throws IOException {
        long ep = in.call("epoll_create1 for fd " + fd, Syscalls.EPOLL_CREATE1, 0);
        if ((file.flags() & FileDescriptor.O_NONBLOCK) != 0) {
            in.call("fcntl(F_SETFL) for fd " + fd, Syscalls.FCNTL, ep, Syscalls.F_SETFL, FileDescriptor.O_NONBLOCK);
        }
        return ep;
    }

    @Override
    public void complete(Injector in, Epoll file, int fd, List<FdSlot> slots) throws IOException {
        for (EpollWatch w : file.watches()) {
            if (slots.stream().noneMatch(s -> s.fd() == w.fd())) {
                throw new RestoreException("process " + in.pid() + " fd " + fd + " (epoll) watches fd " + w.fd()
                        + ", which the checkpoint does not hold");
            }
            in.resetScratch();
            long ev = in.put(event(w.events(), w.data()));
            long rc = in.raw(Syscalls.EPOLL_CTL, fd, Syscalls.EPOLL_CTL_ADD, w.fd(), ev);
            if (Syscalls.isError(rc)) {
                throw new RestoreException("process " + in.pid() + " fd " + fd + " (epoll): cannot watch fd " + w.fd()
                        + " again (events 0x" + Integer.toHexString(w.events()) + "): " + Errno.name(Syscalls.errno(rc))
                        + " (" + Errno.text(Syscalls.errno(rc)) + ")");
            }
        }
    }

    static ByteBuffer event(int events, long data) {
        // 16 bytes: put() copies whole 8-byte words; the kernel reads the first 12
        return Stub.struct(16).putInt(0, events).putLong(4, data);
    }

    @Override
    public long position(Epoll file) {
        return -1;
    }
}
