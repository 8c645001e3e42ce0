package io.lazymig.restore;

import io.lazymig.images.Vma;
import java.io.IOException;
import java.util.List;

/**
 * The address space: the stub's own mappings unmapped (but the vdso block and scratch, and the
 * VMAs it inherited shared copy-on-write from its parent: {@link CowTree}), every other VMA of the
 * checkpoint mapped, the eager pages written, and the protections raised for writing lowered back.
 */
final class MemoryStep implements RestoreStep {
    @Override
    public String name() {
        return "memory";
    }

    @Override
    public void run(Restoring r) throws IOException {
        AddressSpace space = new AddressSpace(r.stub, r.checkpoint, r.process, r.options.lazy(), r.shmems);
        r.space = space;
        if (r.cow != null) {
            space.inherit(r.cow);
        }
        space.unmapStub(r.keptBlock, r.keptScratch);
        List<Vma> raised = space.mapAll();
        space.dropNotOwn();
        r.eagerBytes = space.writeEagerPages(r.options.dir());
        space.protectBack(raised);
    }
}
