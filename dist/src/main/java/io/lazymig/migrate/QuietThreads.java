package io.lazymig.migrate;

import java.io.OutputStream;
import java.io.PrintStream;

/**
 * Silences the log lines of chosen threads: the warm-up runs the real dump, server, daemon and
 * restore code, whose lines ("serving process N", "running after") must not be taken for the real
 * migration's by an operator, a script or a test. The logger writes to {@code System.err} on the
 * calling thread; {@link #install} puts a stream there that drops what quiet threads write.
 * Quietness is inherited by the threads a quiet thread starts (the server's sessions, the
 * daemon's receivers).
 */
public final class QuietThreads {
    private static final InheritableThreadLocal<Boolean> QUIET = new InheritableThreadLocal<>();

    private QuietThreads() {
    }

    /** Makes {@code System.err} drop what quiet threads write; writes from the others go to {@code target}. */
    public static void install(PrintStream target) {
        System.setErr(new PrintStream(new Filter(target), true));
    }

    /** Marks the calling thread (and the threads it starts from now on) quiet, or not. */
    public static void quiet(boolean on) {
        if (on) {
            QUIET.set(Boolean.TRUE);
        } else {
            QUIET.remove();
        }
    }

    static boolean isQuiet() {
        return QUIET.get() != null;
    }

    private static final class Filter extends OutputStream {
        private final PrintStream target;

        Filter(PrintStream target) {
            this.target = target;
        }

        @Override
        public void write(int b) {
            if (!isQuiet()) {
                target.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            if (!isQuiet()) {
                target.write(b, off, len);
            }
        }

        @Override
        public void flush() {
            target.flush();
        }
    }
}
