package io.lazymig.dump;

import io.lazymig.images.DevNull;
import io.lazymig.images.FileObject;
import io.lazymig.images.RegularFile;
import io.lazymig.images.Terminal;
import java.io.IOException;

/**
 * The reader of each kind of open file, chosen by the fd's link target. Kinds lazymig cannot dump
 * yet are refused before the freeze by {@link Preflight}; a new kind (pipe, socket, ...) adds its
 * reader here and its record in images.
 */
final class FileKinds {
    private FileKinds() {
    }

    /**
     * The open file behind fd {@code fd} of process {@code pid} (link {@code target}, open flags, offset
     * and whole fdinfo text): the event fds and char devices are read by {@link EventFdKinds}.
     */
    static FileObject read(int pid, int fd, int id, String target, int flags, long pos, String fdinfo) throws IOException {
        if (EventFdKinds.supported(target)) {
            return EventFdKinds.read(pid, fd, id, target, flags, pos, fdinfo);
        }
        if (target.equals(DevNull.PATH)) {
            return new DevNull(id, flags, pos);
        }
        if (Terminal.isTerminalPath(target)) {
            return new Terminal(id, target, flags, pos);
        }
        return new RegularFile(id, target, flags, pos);
    }
}
