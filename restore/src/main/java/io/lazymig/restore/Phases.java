package io.lazymig.restore;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restore's phases timed for the debug log (-v4): where the time goes, for profiling. The end of
 * each phase is also where the tests' {@link PausePoint} may hold restore.
 */
final class Phases {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    private final long start;
    private long last;

    Phases(long start) {
        this.start = start;
        this.last = start;
    }

    void done(String phase) {
        long now = System.nanoTime();
        if (log.isDebugEnabled()) {
            log.debug("restore: {} in {} us (at {} us)", phase, (now - last) / 1000, (now - start) / 1000);
        }
        last = now;
        PausePoint.after(phase);
    }
}
