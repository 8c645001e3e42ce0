package io.lazymig.migrate;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The daemon's progress line (Stats prints "\rlazy-pages: N/M pages, ..." and flushes) relayed to
 * migrate as a "progress" message at each flush, so the operator on B sees it.
 */
final class ProgressRelay extends OutputStream {
    private final Control control;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    ProgressRelay(Control control) {
        this.control = control;
    }

    @Override
    public synchronized void write(int b) {
        if (b != '\r' && b != '\n') {
            line.write(b);
        }
    }

    @Override
    public synchronized void flush() {
        if (line.size() == 0) {
            return;
        }
        String text = line.toString(StandardCharsets.UTF_8);
        line.reset();
        try {
            control.send("progress", Map.of("text", text));
        } catch (java.io.IOException e) {
            // migrate is gone: the migration goes on without its progress line
        }
    }
}
