package io.lazymig.lazyclient;

import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.ReceivedMessage;
import io.lazymig.jni.UffdHandoff;
import io.lazymig.jni.UnixSocket;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's end of CRIU's restore handshake (CRIU-FACTS §1.2–1.3) on a pathname unix socket:
 * one connection; per task an int32 pid then one byte carrying the uffd; then the 4-byte
 * RESTORE_FINISHED word. lazymig's extension: the daemon sends back a task's int32 pid once it
 * has every page, so restore can drop its guard copy of the uffd.
 */
final class RestoreLink implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.lazy-pages");

    /** One task's record. */
    record TaskRecord(int pid, FileDescriptor uffd) {
    }

    private final UnixSocket connection;
    private final ByteBuffer word = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
    private boolean open = true;

    private RestoreLink(UnixSocket connection) {
        this.connection = connection;
    }

    /** Listens on {@code address}, tells {@code ready} (may be null), and accepts restore's connection. */
    static RestoreLink accept(Path address, Runnable ready) throws IOException {
        UnixSocket listener = UnixSocket.listen(address, 10);
        if (ready != null) {
            try {
                ready.run();
            } catch (RuntimeException e) {
                listener.close();
                throw e;
            }
        }
        return accept(listener, address);
    }

    /** Accepts restore's connection on {@code listener} (listening on {@code address}), then closes it. */
    static RestoreLink accept(UnixSocket listener, Path address) throws IOException {
        try (listener) {
            UnixSocket c = listener.accept();
            if (c == null) {
                throw new IOException("accept on " + address + " returned nothing");
            }
            return new RestoreLink(c);
        }
    }

    /** Reads one task record; a negative pid (a zombie) carries no uffd. */
    TaskRecord readTask() throws IOException {
        int pid = readWord();
        if (pid <= 0) {
            return new TaskRecord(pid, null);
        }
        ByteBuffer one = ByteBuffer.allocateDirect(1);
        try (ReceivedMessage m = connection.receive(one, 1)) {
            if (m.isEndOfStream() || m.fdCount() != 1) {
                throw new IOException("restore sent pid " + pid + " without its userfaultfd");
            }
            return new TaskRecord(pid, m.fd(0).dup());
        }
    }

    /** Reads the RESTORE_FINISHED word; anything else is an error. */
    void readFinished() throws IOException {
        int w = readWord();
        if (w != UffdHandoff.RESTORE_FINISHED) {
            throw new IOException("restore sent 0x" + Integer.toHexString(w) + " where RESTORE_FINISHED belongs");
        }
    }

    int fd() throws IOException {
        return connection.fd().fd();
    }

    boolean isOpen() {
        return open;
    }

    /** Tells restore that the task {@code pid} has every page (restore may be gone: ignored then). */
    void reportComplete(int pid) {
        if (!open) {
            return;
        }
        try {
            word.clear();
            word.putInt(0, pid);
            connection.sendFully(word);
        } catch (IOException e) {
            log.debug("lazy-pages: restore no longer listens ({})", e.getMessage());
            open = false;
        }
    }

    private int readWord() throws IOException {
        word.clear();
        try {
            connection.receiveFully(word);
        } catch (EOFException e) {
            open = false;
            throw new EOFException("restore closed the connection");
        }
        return word.getInt(0);
    }

    @Override
    public void close() {
        open = false;
        connection.close();
    }
}
