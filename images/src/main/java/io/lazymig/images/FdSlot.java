package io.lazymig.images;

/**
 * One slot of a process's fd table: the fd number, its close-on-exec flag and the id of the open
 * file (description) it refers to in the checkpoint's file table. Slots with one file id share one
 * open file description (a dup, {@code 2>&1}: one offset), as CRIU's fdinfo entries do.
 */
public record FdSlot(int fd, boolean closeOnExec, int fileId) {
    public FdSlot {
        if (fd < 0) {
            throw new IllegalArgumentException("negative fd " + fd);
        }
        if (fileId <= 0) {
            throw new IllegalArgumentException("fd " + fd + ": file id " + fileId + " (ids start at 1)");
        }
    }
}
