package io.lazymig.jni;

import java.util.Collections;
import java.util.List;

/**
 * The result of one {@link UnixSocket#receive}: how many bytes arrived, and the file
 * descriptors that came with them as one SCM_RIGHTS message.
 *
 * <p><b>Ownership.</b> The descriptors are new fds in this process (close-on-exec set by
 * {@code MSG_CMSG_CLOEXEC}), and the caller owns them. {@link #close()} closes every one of
 * them, so try-with-resources is safe for messages whose fds are only looked at; a caller
 * that keeps an fd beyond the message either does not close the message (and closes the fds
 * it does not keep) or keeps a {@link FileDescriptor#dup()}.
 */
public final class ReceivedMessage implements AutoCloseable {
    private final int bytes;
    private final List<FileDescriptor> fds;

    ReceivedMessage(int bytes, List<FileDescriptor> fds) {
        this.bytes = bytes;
        this.fds = Collections.unmodifiableList(fds);
    }

    /** Bytes received into the buffer; 0 means end of stream (the peer shut down or closed). */
    public int bytes() {
        return bytes;
    }

    /** True when nothing was received because the peer has shut down its sending side. */
    public boolean isEndOfStream() {
        return bytes == 0 && fds.isEmpty();
    }

    /** The received fds in the order the sender listed them (empty if none came). */
    public List<FileDescriptor> fds() {
        return fds;
    }

    /** Number of fds received. */
    public int fdCount() {
        return fds.size();
    }

    /** The {@code index}-th received fd. */
    public FileDescriptor fd(int index) {
        return fds.get(index);
    }

    /** Closes every received fd (each only once, also if closed before). */
    @Override
    public void close() {
        for (FileDescriptor fd : fds) {
            fd.close();
        }
    }

    @Override
    public String toString() {
        return "ReceivedMessage(" + bytes + " bytes, fds " + fds + ")";
    }
}
