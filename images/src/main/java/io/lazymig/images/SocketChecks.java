package io.lazymig.images;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * What a checkpoint's sockets must agree on across entries, checked when it is read so that bad
 * images end in one error naming the image, before restore creates anything: one file entry per
 * socket inode; a unix socket with a peer has that peer in the checkpoint, of its type, connected
 * back to it; data queued in sk-queues.img belongs to a unix socket that can receive it again (not
 * a listener, and one with a peer or a name to send it through).
 */
final class SocketChecks {
    private SocketChecks() {
    }

    static void check(String filesName, String queuesName, Collection<FileObject> files) throws ImageException {
        Map<Long, FileObject> byIno = new HashMap<>();
        for (FileObject f : files) {
            long ino = ino(f);
            if (ino == 0) {
                continue;
            }
            FileObject other = byIno.put(ino, f);
            if (other != null) {
                throw new ImageException(filesName + ": socket:[" + ino + "] is described twice (file ids "
                        + Integer.toUnsignedString(other.id()) + " and " + Integer.toUnsignedString(f.id()) + ")");
            }
        }
        for (FileObject f : files) {
            if (!(f instanceof UnixSock u)) {
                continue;
            }
            String what = "unix socket " + Integer.toUnsignedString(u.id()) + " (socket:[" + u.ino() + "])";
            if (u.peer() != 0) {
                if (!(byIno.get(u.peer()) instanceof UnixSock p)) {
                    throw new ImageException(filesName + ": " + what + ": its peer socket:[" + u.peer()
                            + "] is not a unix socket of the checkpoint");
                }
                if (p == u) {
                    throw new ImageException(filesName + ": " + what + " is connected to itself (not supported)");
                }
                if (p.peer() != u.ino() || p.type() != u.type()) {
                    throw new ImageException(filesName + ": " + what + ": its peer socket:[" + u.peer()
                            + "] is not connected back to it with the same type");
                }
                if (u.reconnectsByName()) {
                    throw new ImageException(filesName + ": " + what + " has both a peer and a peer name");
                }
            }
            if (!u.queue().isEmpty() && u.isListening()) {
                throw new ImageException(queuesName + ": data queued on " + what + ", which is listening");
            }
            if (!u.queue().isEmpty() && u.peer() == 0 && u.name().length == 0) {
                throw new ImageException(queuesName + ": data queued on " + what
                        + ", which has neither name nor peer to receive it through");
            }
            for (int passed : u.passedFiles()) {
                FileObject pf = files.stream().filter(x -> x.id() == passed).findFirst().orElse(null);
                if (pf == null) {
                    throw new ImageException(queuesName + ": " + what + " has an fd in flight of file id "
                            + Integer.toUnsignedString(passed) + ", which is not in " + filesName);
                }
                if (!UnixSock.PASSABLE.contains(pf.getClass())) {
                    throw new ImageException(queuesName + ": " + what + " has an fd in flight of file id "
                            + Integer.toUnsignedString(passed) + ", " + pf.describe() + " (not a kind restore passes)");
                }
            }
        }
    }

    private static long ino(FileObject f) {
        if (f instanceof UnixSock u) {
            return u.ino();
        }
        if (f instanceof InetSocket s) {
            return s.ino();
        }
        if (f instanceof NetlinkSocket n) {
            return n.ino();
        }
        return 0;
    }
}
