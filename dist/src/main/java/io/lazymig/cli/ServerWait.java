package io.lazymig.cli;

import io.lazymig.lazyclient.RemotePageSource;
import io.lazymig.protocol.Handshake;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.time.Duration;

/**
 * The daemon started before its lazy server (the seed's commands in any order): connects, and
 * while nothing listens at the server's address yet (refused, no route), tries again every
 * {@value #RETRY_MILLIS} ms up to a bound, saying so every {@value #PROGRESS_SECONDS} s. A server
 * that answers and refuses (a wrong key, another protocol) is not waited for.
 */
final class ServerWait {
    static final int RETRY_MILLIS = 10;
    static final int PROGRESS_SECONDS = 5;

    private ServerWait() {
    }

    static Handshake.Welcome connect(RemotePageSource source, InetSocketAddress server, Duration patience, PrintStream out,
                                     Runnable onFirstWait) throws IOException, InterruptedException {
        long start = System.nanoTime();
        long end = start + patience.toNanos();
        long nextNote = start;
        boolean waited = false;
        while (true) {
            try {
                return source.connect();
            } catch (IOException e) {
                if (!nobodyListens(e) || System.nanoTime() >= end) {
                    if (nobodyListens(e)) {
                        throw new IOException("no lazy server at " + server + " within " + patience.toSeconds() + " s ("
                                + Main.describe(e) + ")", e);
                    }
                    throw e;
                }
            }
            if (!waited) {
                waited = true;
                onFirstWait.run();
            }
            long now = System.nanoTime();
            if (now >= nextNote) {
                out.printf("lazy-pages: waiting for the lazy server at %s (%d s of %d)%n", server,
                        (now - start) / 1_000_000_000L, patience.toSeconds());
                out.flush();
                nextNote = now + PROGRESS_SECONDS * 1_000_000_000L;
            }
            Thread.sleep(RETRY_MILLIS);
        }
    }

    /** A connect that nobody answered: refused, unreachable, reset before the hello. */
    static boolean nobodyListens(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketException) {
                return true;
            }
        }
        return false;
    }
}
