package io.lazymig.restore;

import io.lazymig.images.Terminal;
import io.lazymig.jni.Syscalls;
import java.io.IOException;

/** A terminal: a copy of restore's own stdio (fd 0..2 its namesake, a higher fd stderr), like CRIU's --shell-job. */
final class TerminalOpener implements FileOpener<Terminal> {
    @Override
    public Class<Terminal> kind() {
        return Terminal.class;
    }

    @Override
    public long open(Injector in, Terminal file, int fd, ParkedStdio stdio) throws IOException {
        long src = stdio.forFd(fd);
        if (src < 0) {
            throw new RestoreException("fd " + fd + " was a terminal (" + file.path()
                    + ") and restore has no stdio to hand over");
        }
        return in.call("fcntl(F_DUPFD)", Syscalls.FCNTL, src, Syscalls.F_DUPFD, 0);
    }

    @Override
    public long position(Terminal file) {
        return -1;
    }
}
