package io.lazymig.protocol;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A time limit on one phase of a connection (its handshake): when it passes, the socket is shut
 * down both ways, so the thread blocked in a read or a write of it returns (end of stream, broken
 * pipe) and gives up. The fd is not closed here: it stays its owning thread's, which closes it.
 * The owner calls {@link #finish()} when the phase is over: true when it was in time. One timer
 * thread serves every deadline of the JVM.
 */
public final class ConnectionDeadline implements AutoCloseable {
    private static final int ARMED = 0;
    private static final int FINISHED = 1;
    private static final int EXPIRED = 2;
    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private final SocketChannel channel;
    private final Duration limit;
    private final AtomicInteger state = new AtomicInteger(ARMED);
    private final ScheduledFuture<?> task;

    private ConnectionDeadline(SocketChannel channel, Duration limit) {
        this.channel = channel;
        this.limit = limit;
        this.task = TIMER.schedule(this::expire, limit.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Arms a deadline of {@code limit} on {@code channel}, from now. */
    public static ConnectionDeadline start(SocketChannel channel, Duration limit) {
        return new ConnectionDeadline(channel, limit);
    }

    /** One phase of a connection, run under a deadline. */
    public interface Phase<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code phase} with a deadline of {@code limit} on {@code channel}; when it passes the
     * phase fails with "WHAT did not complete within N s" rather than its own end-of-stream.
     */
    public static <T> T within(SocketChannel channel, Duration limit, String what, Phase<T> phase) throws IOException {
        ConnectionDeadline d = start(channel, limit);
        T result;
        try {
            result = phase.run();
        } catch (IOException e) {
            if (!d.finish()) {
                throw d.expiredError(what);
            }
            throw e;
        } catch (RuntimeException e) {
            d.finish();
            throw e;
        }
        if (!d.finish()) {
            throw d.expiredError(what);
        }
        return result;
    }

    private ProtocolException expiredError(String what) {
        return new ProtocolException(what + " did not complete within " + seconds(limit) + " s: dropped");
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? Long.toString(d.toSeconds()) : String.format(java.util.Locale.ROOT, "%.1f",
                d.toMillis() / 1000.0);
    }

    private void expire() {
        if (state.compareAndSet(ARMED, EXPIRED)) {
            try {
                channel.shutdownInput();
                channel.shutdownOutput();
            } catch (IOException e) {
                // closed already: its owner is done with it
            }
        }
    }

    /** Disarms the deadline; returns false when it had passed (the socket is shut down then). */
    public boolean finish() {
        if (state.compareAndSet(ARMED, FINISHED)) {
            task.cancel(false);
            return true;
        }
        return state.get() == FINISHED;
    }

    /** Whether the deadline passed before {@link #finish()}. */
    public boolean expired() {
        return state.get() == EXPIRED;
    }

    public Duration limit() {
        return limit;
    }

    /** As {@link #finish()}, ignoring the outcome (for try-with-resources on failure paths). */
    @Override
    public void close() {
        finish();
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "connection deadlines");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        return t;
    }
}
