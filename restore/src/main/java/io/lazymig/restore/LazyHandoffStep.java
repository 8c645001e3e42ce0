package io.lazymig.restore;

import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The uffd, created in the process and registered over its lazy VMAs, handed to the lazy-pages
 * daemon; a guardian (the agent) takes its share before the process may run. A process of a tree
 * is added to the tree's one handoff (one daemon connection), which the Restorer guards.
 */
final class LazyHandoffStep implements RestoreStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    @Override
    public String name() {
        return "lazy handoff";
    }

    @Override
    public void run(Restoring r) throws IOException {
        Restorer.Guardian guardian = r.options.guardian();
        if (r.handoff != null) { // one process of a tree: the Restorer made the handoff and guards it
            if (r.handoff.isEmpty() && guardian != null) {
                guardian.beforeHandoff(); // the tree's first uffd: every process is rebuilt by now
            }
            r.handoff.add(r.stub, r.process);
            return;
        }
        long t0 = System.nanoTime();
        if (guardian != null) {
            guardian.beforeHandoff();
        }
        long t1 = System.nanoTime();
        r.handoff = LazyHandoff.handOver(r.stub, r.checkpoint, r.options.address());
        // the wait is the daemon's (and the agent's image files'), not restore's own work
        log.debug("restore: lazy handoff of process {}: waited {} us for the daemon, handed over in {} us", r.pid,
                (t1 - t0) / 1000, (System.nanoTime() - t1) / 1000);
        if (r.heldConnections != null) {
            r.handoff.guardConnections(r.heldConnections.inodes()); // opened by the fd table step, just before
        }
        if (guardian != null) {
            guardian.take(r.handoff);
        }
    }
}
