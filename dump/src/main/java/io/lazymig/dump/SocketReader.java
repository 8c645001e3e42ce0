package io.lazymig.dump;

import io.lazymig.images.FileObject;
import io.lazymig.images.InetSocket;
import io.lazymig.images.NetlinkSocket;
import io.lazymig.images.UnixSock;
import io.lazymig.jni.Sockets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the socket fds of one frozen process ("socket:[INO]" links), each by the reader of its
 * family, chosen by where sock_diag lists its inode; a socket of a kind lazymig does not restore is
 * refused with the process, the fd and the reason. Counts what the migration will not carry: TCP
 * connections (restored closed) and connections waiting in a listener's accept queue (reset when
 * the source's socket closes), for the dump's summary.
 */
final class SocketReader {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    private final int pid;
    private final Injections inj;
    private final TreeFds tree;
    private final TcpLocks tcpLocks;
    private InetSockets inet;
    private UnixSockets unix;
    private boolean netnsChecked;
    private int closedConnections;
    private int waitingConnections;

    /**
     * {@code tree}: the fds of the processes being dumped (a unix socket's peer held by one of them is
     * in the checkpoint), read once for every process's sockets; {@code tcpLocks}: dump --tcp-established carries established connections alive,
     * locked there (null: closed).
     */
    SocketReader(int pid, Injections inj, TreeFds tree, TcpLocks tcpLocks) {
        this.pid = pid;
        this.tree = tree;
        this.inj = inj;
        this.tcpLocks = tcpLocks;
    }

    static boolean isSocket(String target) {
        return target.startsWith("socket:[") && target.endsWith("]");
    }

    static long inode(String target) {
        return Long.parseLong(target.substring("socket:[".length(), target.length() - 1));
    }

    FileObject read(int id, int fd, String target, int flags) throws IOException {
        return read(id, fd, target, flags, null);
    }

    /** Socket fd {@code fd}; the fds in flight in a unix socket's queue are read by {@code passed} (null: refused). */
    FileObject read(int id, int fd, String target, int flags, UnixSockets.PassedFiles passed) throws IOException {
        if (!netnsChecked) {
            String netns = netnsRefusal(pid);
            if (netns != null) {
                throw new DumpException("process " + pid + " fd " + fd + " is a socket (" + target + ") and the process "
                        + netns);
            }
            netnsChecked = true;
        }
        long ino = inode(target);
        Sockets.Inet s = inet().find(ino);
        if (s != null) {
            InetSocket sk = InetSockets.read(id, fd, s, flags, inj);
            if (sk.isConnectedStream() && tcpLocks != null && sk.state() == InetSocket.TCP_ESTABLISHED) {
                String what = "process " + pid + " fd " + fd + " (" + sk.describe() + ")";
                sk = sk.withStream(TcpStreamReader.read(tcpLocks.lock(pid, fd, what), what));
                log.info("dump: {}: carried alive (held in repair mode while frozen): {}", what,
                        sk.stream().describeQueues());
            } else if (sk.isConnectedStream()) {
                closedConnections++;
                log.info("dump: process {} fd {}: {} will be restored closed (the application sees the connection fail){}",
                        pid, fd, sk.describe(), tcpLocks == null ? "" : ": --tcp-established carries ESTABLISHED "
                        + "connections only, this one is in TCP state " + sk.state());
            }
            int waiting = InetSockets.waiting(s);
            if (waiting > 0) {
                waitingConnections += waiting;
                log.info("dump: process {} fd {}: {} has {} connection(s) waiting in its accept queue: they stay on this "
                        + "host and are reset when its socket closes", pid, fd, sk.describe(), waiting);
            }
            return sk;
        }
        Sockets.Unix u = unix().find(ino);
        if (u != null) {
            String where = "process " + pid + " fd " + fd;
            Set<Long> mine = tree.sockets();
            String no = unix().refusal(u, mine);
            if (no != null) {
                throw new DumpException(where + " is " + no);
            }
            UnixSockets.PassedFiles checked = passed == null ? null : new UnixSockets.PassedFiles() {
                @Override
                public FileObject read(int installed, String w) throws IOException {
                    FileObject f = passed.read(installed, w);
                    checkPassedPipe(f, w);
                    return f;
                }

                @Override
                public boolean keep(List<Integer> installed) {
                    return passed.keep(installed);
                }
            };
            UnixSock sk = unix().read(id, fd, u, flags, inj, where, mine, checked);
            if (sk.isListening() && u.pendingCount() > 0) {
                waitingConnections += u.pendingCount();
                log.info("dump: process {} fd {}: {} has {} connection(s) waiting to be accepted: they stay on this host",
                        pid, fd, sk.describe(), u.pendingCount());
            }
            if (!sk.queue().isEmpty()) {
                log.info("dump: process {} fd {}: {}: {} byte(s) queued in {} packet(s){}, carried in sk-queues.img", pid, fd,
                        sk.describe(), sk.queuedBytes(), sk.queue().size(), sk.passedFiles().isEmpty() ? ""
                        : " with " + sk.passedFiles().size() + " fd(s) in flight (file ids " + sk.passedFiles() + ")");
            }
            return sk;
        }
        for (Sockets.Netlink n : Sockets.netlink()) {
            if (n.ino() == ino) {
                return readNetlink(id, fd, n, flags);
            }
        }
        throw new DumpException("process " + pid + " fd " + fd + " is " + refusal(target));
    }

    private NetlinkSocket readNetlink(int id, int fd, Sockets.Netlink n, int flags) throws IOException {
        String where = "process " + pid + " fd " + fd;
        if ((n.groups() >>> 32) != 0) {
            throw new DumpException(where + " is a netlink socket (protocol " + n.protocol() + ") in multicast groups above "
                    + "32 (0x" + Long.toHexString(n.groups()) + "): not supported");
        }
        int type = (int) inj.intSockOpt(fd, Sockets.SOL_SOCKET, Sockets.SO_TYPE);
        try {
            NetlinkSocket s = new NetlinkSocket(id, n.ino(), type == Sockets.SOCK_DGRAM ? NetlinkSocket.SOCK_DGRAM
                    : NetlinkSocket.SOCK_RAW, n.protocol(), n.portid(), (int) n.groups(), n.dstPortid(), (int) n.dstGroup(),
                    flags & ~(io.lazymig.jni.FileDescriptor.O_CLOEXEC | io.lazymig.jni.FileDescriptor.O_ACCMODE),
                    SocketOptionsReader.read(fd, inj, false));
            log.info("dump: process {} fd {}: {}: restored bound to the same groups (a new port id); messages queued on "
                    + "it are not carried", pid, fd, s.describe());
            return s;
        } catch (IllegalArgumentException e) {
            throw new DumpException(where + ": " + e.getMessage(), e);
        }
    }

    /**
     * A pipe end in flight whose pipe another process of the tree holds is refused: restore makes
     * the pipe once for the tree from an fd that stays open, and the end in flight has none.
     */
    private void checkPassedPipe(FileObject f, String where) throws IOException {
        if (!(f instanceof io.lazymig.images.Pipe p) || p.external()) {
            return;
        }
        String target = p.resource();
        for (TreeFds.Holder h : tree.holders(target)) {
            if (h.pid() != pid) {
                throw new DumpException(where + " has an fd in flight in its queue (SCM_RIGHTS) that is an end of "
                        + target + ", which process " + h.pid() + " (fd " + h.fd() + ") holds too: a pipe in flight "
                        + "between processes of the tree is not supported yet");
            }
        }
    }

    private UnixSockets unix() throws IOException {
        if (unix == null) {
            unix = UnixSockets.list();
        }
        return unix;
    }

    /** What socket {@code target} is and why it is not restored: "a netlink socket (socket:[5]): ...". */
    static String refusal(String target) throws IOException {
        long ino = inode(target);
        return "a socket (" + target + ") of a kind lazymig does not restore (raw, packet or another family)";
    }

    /** Whether process {@code pid} is in lazymig's own network namespace, where sock_diag lists its sockets. */
    static String netnsRefusal(int pid) throws IOException {
        String mine = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        String its = Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "ns", "net")).toString();
        if (mine.equals(its)) {
            return null;
        }
        return "is in network namespace " + its + ", lazymig in " + mine
                + ": run lazymig in the process's namespace (ip netns exec NAME lazymig ...) to dump its sockets";
    }

    private InetSockets inet() throws IOException {
        if (inet == null) {
            inet = InetSockets.list();
        }
        return inet;
    }

    /** Closes (injected close) fds the peeks installed and that were kept for the table's reading. */
    void closeInstalled(List<Integer> fds) throws IOException {
        inj.closeFds(fds);
    }

    /** TCP connections that will be restored closed. */
    int closedConnections() {
        return closedConnections;
    }

    /** Connections that were waiting in accept queues. */
    int waitingConnections() {
        return waitingConnections;
    }
}
