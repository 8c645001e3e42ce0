package io.lazymig.restore;

import io.lazymig.images.Vma;
import io.lazymig.jni.Errno;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The address space: the stub's own mappings unmapped (but the vdso block and scratch, and the
 * VMAs it inherited shared copy-on-write from its parent: {@link CowTree}), every other VMA of the
 * checkpoint mapped, the eager pages written, and the protections raised for writing lowered back.
 * The unmaps and the protections put back are independent calls: one run for the whole tree each
 * ({@link SyscallRun#runAcross}) rather than an injection per call and process.
 */
final class MemoryStep implements TreeStep {
    @Override
    public String name() {
        return "memory";
    }

    @Override
    public void runAll(List<Restoring> all) throws IOException {
        List<Stub> stubs = new ArrayList<>();
        List<List<SyscallRun.Call>> unmaps = new ArrayList<>();
        for (Restoring r : all) {
            AddressSpace space = new AddressSpace(r.stub, r.checkpoint, r.process, r.options.lazy(), r.shmems);
            r.space = space;
            if (r.cow != null) {
                space.inherit(r.cow);
            }
            stubs.add(r.stub);
            unmaps.add(space.unmapStubCalls(r.keptBlock, r.keptScratch));
        }
        runAcross("munmap", stubs, unmaps);
        List<List<SyscallRun.Call>> protects = new ArrayList<>();
        for (Restoring r : all) {
            List<Vma> raised = r.space.mapAll();
            r.space.dropNotOwn();
            r.eagerBytes = r.space.writeEagerPages(r.options.dir());
            protects.add(AddressSpace.protectBackCalls(raised));
        }
        runAcross("mprotect", stubs, protects);
    }

    /** One run per process from the start of its scratch; the first failed call is a RestoreException naming it. */
    private static void runAcross(String name, List<Stub> stubs, List<List<SyscallRun.Call>> calls) throws IOException {
        for (Stub s : stubs) {
            s.resetScratch();
        }
        long[][] rcs = SyscallRun.runAcross(stubs, calls);
        for (int p = 0; p < rcs.length; p++) {
            for (int i = 0; i < rcs[p].length; i++) {
                if (SyscallRun.failed(rcs[p][i])) {
                    int errno = io.lazymig.jni.Syscalls.errno(rcs[p][i]);
                    StringBuilder sb = new StringBuilder("injected ").append(name).append('(');
                    long[] args = calls.get(p).get(i).args();
                    for (int a = 0; a < args.length; a++) {
                        sb.append(a > 0 ? ", " : "").append("0x").append(Long.toHexString(args[a]));
                    }
                    throw new RestoreException(sb.append(") in process ").append(stubs.get(p).pid())
                            .append(" failed: ").append(Errno.name(errno)).append(" (").append(Errno.text(errno))
                            .append(')').toString());
                }
            }
        }
    }
}
