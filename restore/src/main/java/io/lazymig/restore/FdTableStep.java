package io.lazymig.restore;

import java.io.IOException;

/** The process's fd table ({@link FdTableRestore}). */
final class FdTableStep implements RestoreStep {
    @Override
    public String name() {
        return "fd table";
    }

    @Override
    public void run(Restoring r) throws IOException {
        FdTableRestore.restore(r.stub, r.checkpoint, r.process.pid(), r.process.fds(), r.sharedFiles,
                new InheritedFds(r.options.inherit()), r.options.ipMap(), r.heldConnections, r.shmems);
    }
}
