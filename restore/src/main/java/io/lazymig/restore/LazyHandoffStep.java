package io.lazymig.restore;

import io.lazymig.images.ProcessImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The uffd, created in the process and registered over its lazy VMAs, handed to the lazy-pages
 * daemon; a guardian (the agent) takes its share before the process may run. A process of a tree
 * is added to the tree's one handoff (one daemon connection), which the Restorer guards.
 */
final class LazyHandoffStep implements TreeStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    @Override
    public String name() {
        return "lazy handoff";
    }

    /** A tree's processes (the Restorer made their one handoff and guards it) all at once; else each alone. */
    @Override
    public void runAll(List<Restoring> all) throws IOException {
        LazyHandoff tree = all.get(0).handoff;
        if (tree == null) {
            for (Restoring r : all) {
                runOne(r);
            }
            return;
        }
        Restorer.Guardian guardian = all.get(0).options.guardian();
        if (tree.isEmpty() && guardian != null) {
            guardian.beforeHandoff(); // the tree's first uffd: every process is rebuilt by now
        }
        List<Stub> stubs = new ArrayList<>(all.size());
        List<ProcessImage> processes = new ArrayList<>(all.size());
        for (Restoring r : all) {
            stubs.add(r.stub);
            processes.add(r.process);
        }
        tree.addAll(stubs, processes);
    }

    private void runOne(Restoring r) throws IOException {
        Restorer.Guardian guardian = r.options.guardian();
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
