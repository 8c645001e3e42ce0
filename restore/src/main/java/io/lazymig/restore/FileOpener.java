package io.lazymig.restore;

import io.lazymig.images.FdSlot;
import io.lazymig.images.FileObject;
import java.io.IOException;
import java.util.List;

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

    /**
     * What is left once every fd of the table ({@code slots}) is back, {@code file} at {@code fd}:
     * an epoll's watches. Nothing for most kinds.
     */
    default void complete(Injector in, T file, int fd, List<FdSlot> slots) throws IOException {
    }
}
