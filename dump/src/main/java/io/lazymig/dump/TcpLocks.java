package io.lazymig.dump;

import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Pidfd;
import io.lazymig.jni.TcpRepair;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The established TCP connections a dump --tcp-established carries alive, held locked while the
 * process is frozen (CRIU's network lock, per socket): each one's copy (pidfd_getfd) gets a socket
 * filter that drops every incoming segment unprocessed, so nothing arrives after its queues are
 * read and nothing is acknowledged, and TCP repair mode, so nothing leaves it (no data, no FIN, no
 * RST). After a successful dump whose process is killed ({@link #vanish()}), closing the copies
 * closes the sockets in repair mode: the kernel drops them without a word to the peer, which only
 * retransmits until the connection answers again from its new host. Otherwise (a failed dump,
 * --leave-running) {@link #close()} unlocks them (filter off, repair off, which sends a window
 * probe) before the process runs again. Owned by the dump's tracer thread.
 */
final class TcpLocks implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    private final List<FileDescriptor> locked = new ArrayList<>();
    private boolean vanish;

    /** Locks process {@code pid}'s socket {@code fd}; the copy returned stays owned by this object. */
    FileDescriptor lock(int pid, int fd, String what) throws IOException {
        FileDescriptor copy;
        try (Pidfd p = Pidfd.open(pid)) {
            copy = p.getfd(fd);
        }
        try {
            if (TcpRepair.filterLength(copy) != 0) {
                throw new DumpException(what + " has a socket filter (SO_ATTACH_FILTER) of its own: --tcp-established "
                        + "needs the socket's filter slot to hold the connection while frozen; not supported");
            }
            TcpRepair.attachDropFilter(copy);
        } catch (IOException | RuntimeException e) {
            copy.close();
            throw e;
        }
        locked.add(copy);
        try {
            TcpRepair.setRepair(copy, 1);
        } catch (NativeException e) {
            throw new DumpException(what + ": cannot enter TCP repair mode (" + e.getMessage()
                    + "; it needs CAP_NET_ADMIN)", e);
        }
        return copy;
    }

    /** How many connections are held. */
    int size() {
        return locked.size();
    }

    /** The process was killed after a successful dump: the sockets are dropped silently on close. */
    void vanish() {
        vanish = true;
    }

    /** Unlocks now (before the process is resumed): filter off, then repair off; the copies are closed. */
    void release() {
        for (FileDescriptor copy : locked) {
            try {
                TcpRepair.detachFilter(copy);
                TcpRepair.selectQueue(copy, TcpRepair.TCP_NO_QUEUE);
                TcpRepair.setRepair(copy, 0);
            } catch (NativeException e) {
                log.warn("dump: cannot unlock a TCP connection (the process carries on with it stalled): {}",
                        e.getMessage());
            }
            copy.close();
        }
        locked.clear();
    }

    @Override
    public void close() {
        if (!vanish) {
            release();
            return;
        }
        for (FileDescriptor copy : locked) {
            copy.close();
        }
        if (!locked.isEmpty()) {
            log.info("dump: {} TCP connection(s) left this host silently (closed in repair mode: no FIN, no RST)",
                    locked.size());
        }
        locked.clear();
    }
}
