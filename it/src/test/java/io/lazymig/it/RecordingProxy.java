package io.lazymig.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A TCP proxy on 127.0.0.1 that keeps every byte it carries, both ways, of every connection (what
 * an observer on the path sees), up to a bound. Each connection is copied by two threads of its own.
 */
final class RecordingProxy implements AutoCloseable {
    private final ServerSocketChannel listener;
    private final InetSocketAddress target;
    private final ByteArrayOutputStream seen = new ByteArrayOutputStream();
    private final long bound;
    private final List<SocketChannel> open = new ArrayList<>();

    RecordingProxy(InetSocketAddress target, long bound) throws IOException {
        this.target = target;
        this.bound = bound;
        this.listener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        Thread t = new Thread(this::accept, "recording proxy");
        t.setDaemon(true);
        t.start();
    }

    int port() throws IOException {
        return ((InetSocketAddress) listener.getLocalAddress()).getPort();
    }

    private void accept() {
        while (listener.isOpen()) {
            try {
                SocketChannel in = listener.accept();
                SocketChannel out = SocketChannel.open(target);
                synchronized (open) {
                    open.add(in);
                    open.add(out);
                }
                start(in, out);
                start(out, in);
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void start(SocketChannel from, SocketChannel to) {
        Thread t = new Thread(() -> copy(from, to), "recording proxy copy");
        t.setDaemon(true);
        t.start();
    }

    private void copy(SocketChannel from, SocketChannel to) {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        try {
            while (from.read(b) >= 0) {
                b.flip();
                synchronized (seen) {
                    if (seen.size() < bound) {
                        seen.write(b.array(), 0, b.limit());
                    }
                }
                while (b.hasRemaining()) {
                    to.write(b);
                }
                b.clear();
            }
            to.shutdownOutput();
        } catch (IOException e) {
            try {
                to.close();
                from.close();
            } catch (IOException ignored) {
                // both gone
            }
        }
    }

    long bytes() {
        synchronized (seen) {
            return seen.size();
        }
    }

    /** Whether {@code sample} crossed the proxy as is. */
    boolean saw(byte[] sample) {
        String hay;
        synchronized (seen) {
            hay = seen.toString(StandardCharsets.ISO_8859_1);
        }
        return hay.contains(new String(sample, StandardCharsets.ISO_8859_1));
    }

    @Override
    public void close() throws IOException {
        listener.close();
        synchronized (open) {
            for (SocketChannel c : open) {
                c.close();
            }
        }
    }
}
