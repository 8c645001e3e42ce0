package io.lazymig.restore;

import io.lazymig.images.FileObject;
import java.io.IOException;

/**
 * Restore's writer of one kind of open file: opens it in the process being restored, at any fd
 * number; {@link FdTableRestore} moves it to its slot. One per kind, in {@link FileOpeners}.
 */
interface FileOpener<T extends FileObject> {
    /** The record this opener handles. */
    Class<T> kind();

    /**
     * Opens {@code file} for slot {@code fd} and returns the fd it got (anywhere); {@code stdio}
     * holds restore's own stdio, parked in the process while its fds are rebuilt.
     */
    long open(Injector in, T file, int fd, ParkedStdio stdio) throws IOException;

    /** The file offset to seek the new fd to, or -1 when the kind has none (a terminal). */
    long position(T file);
}
