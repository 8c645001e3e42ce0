package io.lazymig.images;

/**
 * An open file (an open file description) in the checkpoint-wide file table, which fd slots
 * point at by {@link #id()}. One record per kind; each kind has one codec in images (its
 * files.img entry) and one writer in restore. A new kind (pipe, socket, eventfd, ...) is a new
 * record here, not a branch elsewhere.
 */
public sealed interface FileObject permits RegularFile, DevNull, Terminal, Pipe, Fifo, CharDevice, Eventfd,
        Timerfd, Signalfd, Inotify, Epoll, InetSocket, UnixSock, NetlinkSocket, Memfd {
    /** Its id in the file table (files.img), from 1. */
    int id();

    /** What it is, for messages: "/tmp/log", "/dev/null", "terminal /dev/pts/3". */
    String describe();

    static void checkId(int id) {
        if (id <= 0) {
            throw new IllegalArgumentException("file id " + id + " (ids start at 1)");
        }
    }

    static void checkPos(int id, long pos) {
        if (pos < 0) {
            throw new IllegalArgumentException("file id " + id + ": negative offset " + pos);
        }
    }
}
