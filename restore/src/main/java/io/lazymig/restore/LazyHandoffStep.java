package io.lazymig.restore;

import java.io.IOException;

/**
 * The uffd, created in the process and registered over its lazy VMAs, handed to the lazy-pages
 * daemon; a guardian (the agent) takes its share before the process may run.
 */
final class LazyHandoffStep implements RestoreStep {
    @Override
    public String name() {
        return "lazy handoff";
    }

    @Override
    public void run(Restoring r) throws IOException {
        Restorer.Guardian guardian = r.options.guardian();
        if (guardian != null) {
            guardian.beforeHandoff();
        }
        r.handoff = LazyHandoff.handOver(r.stub, r.checkpoint, r.options.address());
        if (guardian != null) {
            guardian.take(r.handoff);
        }
    }
}
