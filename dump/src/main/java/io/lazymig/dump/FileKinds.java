package io.lazymig.dump;

import io.lazymig.images.DevNull;
import io.lazymig.images.FileObject;
import io.lazymig.images.Memfd;
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
     * The open file behind fd {@code fd} of {@code source} (link {@code target}, open flags, offset and
     * whole fdinfo text): pipes and FIFOs are read by the source's {@link PipeEnds}, the event fds and
     * char devices by {@link EventFdKinds}.
     */
    static FileObject read(FdTableReader.Source source, int fd, int id, String target, int flags, long pos, String fdinfo)
            throws IOException {
        if (target.startsWith("pipe:") || source.isFifo(fd)) {
            return source.pipeEnd(id, fd, target, flags);
        }
        if (EventFdKinds.supported(target)) {
            return EventFdKinds.read(source.pid(), fd, id, target, flags, pos, fdinfo);
        }
        if (target.startsWith("/memfd:") && target.endsWith(" (deleted)")) {
            return new Memfd(id, flags, pos, ShmemReader.inodeOf(java.nio.file.Path.of("/proc",
                    Integer.toString(source.pid()), "fd", Integer.toString(fd))));
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
