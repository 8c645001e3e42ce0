package io.lazymig.restore;

import io.lazymig.images.InetSocket;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Sockets;
import io.lazymig.jni.TcpRepair;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connections a restore --tcp-established rebuilt alive, held silent until the restore as a
 * whole has succeeded: from its opener ({@link TcpConnectionOpener}) on, each stays in TCP repair
 * mode behind a filter that drops every incoming segment, so it neither sends nor answers anything.
 * {@link #release}, the last step before the processes run, takes them out: every filter detached
 * and IP_TRANSPARENT put back as it was dumped (calls that may fail while all are still silent),
 * then each out of repair mode (which sends the peer a window probe) and its never-sent bytes sent.
 * A restore that fails before that {@link #close closes} them still in repair mode: the kernel
 * sends the peer neither a FIN nor a reset, so the source, which still holds the connection locked,
 * or a second restore carries it on. Restore keeps its copies after the release too, until it
 * ends: one that fails later (a connection's release, the detach, the daemon gone) first puts
 * them all back in repair mode ({@link #silence}), so its kill of the processes is as silent.
 * What is held is restore's own copy of each socket (the process has another fd of the same
 * socket). Owned by restore's thread.
 */
final class HeldConnections implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    private record Held(FileDescriptor sk, InetSocket s, String what) {
    }

    private final List<Held> held = new ArrayList<>();

    /** Holds {@code sk} (in repair mode, its filter attached), connection {@code s} restored as {@code what}. */
    void hold(FileDescriptor sk, InetSocket s, String what) {
        held.add(new Held(sk, s, what));
    }

    int size() {
        return held.size();
    }

    /** Lets every held connection go live (see the class comment); a failure before the first is out of repair mode loses none. */
    void release() throws IOException {
        for (Held h : held) {
            try {
                TcpRepair.detachFilter(h.sk());
                int family = h.s().family() == InetSocket.AF_INET ? Sockets.AF_INET : Sockets.AF_INET6;
                TcpRepair.setInt(h.sk(), family == Sockets.AF_INET ? Sockets.IPPROTO_IP : Sockets.IPPROTO_IPV6,
                        family == Sockets.AF_INET ? TcpRepair.IP_TRANSPARENT : TcpRepair.IPV6_TRANSPARENT,
                        h.s().transparent() ? 1 : 0, "IP_TRANSPARENT");
            } catch (NativeException e) {
                throw new RestoreException("cannot release " + h.what() + ": " + e.getMessage(), e);
            }
        }
        for (Held h : held) {
            try {
                TcpRepair.setRepair(h.sk(), 0);
            } catch (NativeException e) {
                throw new RestoreException("cannot take " + h.what() + " out of TCP repair mode: " + e.getMessage(), e);
            }
            TcpConnectionOpener.sendUnsent(h.sk(), h.s().stream(), h.what());
            log.info("restore: {}: alive, out of repair mode", h.what());
        }
    }

    /**
     * Puts every held connection back in TCP repair mode (one still in it stays so), before a
     * failed restore kills its processes: closed in repair mode, none sends the peer a FIN or a
     * reset. Failures are logged: the kill goes on.
     */
    void silence() {
        int back = 0;
        for (Held h : held) {
            try {
                TcpRepair.setRepair(h.sk(), 1);
                back++;
            } catch (NativeException e) {
                log.warn("restore: {}: cannot put it back in repair mode: {}", h.what(), e.getMessage());
            }
        }
        if (back > 0) {
            log.info("restore: {} connection(s) in repair mode for the kill (no FIN, no reset)", back);
        }
    }

    /** The socket inodes of the held connections, for the guard ({@link SilentConnections}). */
    Set<Long> inodes() throws IOException {
        Set<Long> out = new HashSet<>();
        for (Held h : held) {
            long ino = SilentConnections.socketInode(Path.of("/proc/self/fd/" + h.sk().fd()));
            if (ino >= 0) {
                out.add(ino);
            }
        }
        return out;
    }

    /**
     * Closes restore's copies; those in repair mode vanish without a FIN or a reset once the
     * process's fd goes too, the others live on in the process.
     */
    @Override
    public void close() {
        for (Held h : held) {
            h.sk().close();
        }
        held.clear();
    }
}
