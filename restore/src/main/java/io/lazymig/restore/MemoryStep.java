package io.lazymig.restore;

import io.lazymig.images.Vma;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The address space: the stub's own mappings unmapped (but the vdso block and scratch, and the
 * VMAs it inherited shared copy-on-write from its parent: {@link CowTree}), every other VMA of the
 * checkpoint mapped, the eager pages written, and the protections raised for writing lowered back.
 * The unmaps, the anonymous mappings and the protections put back are independent calls: runs the
 * whole tree makes at once ({@link SyscallRun#runAcross}), one round of stops for all its
 * processes rather than one injection per call and process.
 */
final class MemoryStep implements TreeStep {
    @Override
    public String name() {
        return "memory";
    }

    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    @Override
    public void runAll(List<Restoring> all) throws IOException {
        long t0 = System.nanoTime();
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
        runAcross("munmap", stubs, unmaps, null);
        long t1 = System.nanoTime();
        List<List<Vma>> raised = new ArrayList<>();
        List<List<SyscallRun.Call>> anon = new ArrayList<>();
        List<List<Vma>> anonVmas = new ArrayList<>();
        List<List<AddressSpace.FileMap>> files = new ArrayList<>();
        for (Restoring r : all) {
            AddressSpace.AnonCalls calls = new AddressSpace.AnonCalls();
            List<AddressSpace.FileMap> f = new ArrayList<>();
            raised.add(r.space.mapAll(calls, f));
            anon.add(calls.calls);
            anonVmas.add(calls.vmas);
            files.add(f);
        }
        runAcross("mmap or madvise", stubs, anon, anonVmas);
        long t2 = System.nanoTime();
        FileMapRun.run(stubs, files);
        long t3 = System.nanoTime();
        List<List<SyscallRun.Call>> protects = new ArrayList<>();
        for (int p = 0; p < all.size(); p++) {
            Restoring r = all.get(p);
            r.space.dropNotOwn();
            r.eagerBytes = r.space.writeEagerPages(r.options.dir());
            protects.add(AddressSpace.protectBackCalls(raised.get(p)));
        }
        long t4 = System.nanoTime();
        runAcross("mprotect", stubs, protects, raised);
        if (log.isDebugEnabled()) {
            log.debug("restore: memory of {} process(es): unmaps {} us, anonymous {} us, files {} us, eager pages {} us, "
                    + "mprotect {} us", all.size(), (t1 - t0) / 1000, (t2 - t1) / 1000, (t3 - t2) / 1000, (t4 - t3) / 1000,
                    (System.nanoTime() - t4) / 1000);
        }
    }

    /**
     * The calls of each process in runs from the start of its scratch, as many rounds as the
     * longest list needs; the first failed call is a RestoreException naming it (and its VMA, when
     * {@code vmas} has them).
     */
    static void runAcross(String name, List<Stub> stubs, List<List<SyscallRun.Call>> calls,
            List<List<Vma>> vmas) throws IOException {
        int capacity = SyscallRun.capacity(0);
        for (int from = 0; ; from += capacity) {
            List<List<SyscallRun.Call>> round = new ArrayList<>();
            boolean any = false;
            for (List<SyscallRun.Call> c : calls) {
                List<SyscallRun.Call> part = from < c.size() ? c.subList(from, Math.min(c.size(), from + capacity)) : List.of();
                any |= !part.isEmpty();
                round.add(part);
            }
            if (!any) {
                return;
            }
            for (Stub s : stubs) {
                s.resetScratch();
            }
            long[][] rcs = SyscallRun.runAcross(stubs, round);
            for (int p = 0; p < rcs.length; p++) {
                for (int i = 0; i < rcs[p].length; i++) {
                    if (SyscallRun.failed(rcs[p][i])) {
                        throw failure(name, stubs.get(p).pid(), round.get(p).get(i), rcs[p][i],
                                vmas == null ? null : vmas.get(p).get(from + i));
                    }
                }
            }
        }
    }

    private static RestoreException failure(String name, int pid, SyscallRun.Call c, long rc, Vma vma) {
        int errno = Syscalls.errno(rc);
        StringBuilder sb = new StringBuilder("injected ").append(name).append(" (syscall ").append(c.nr()).append(")(");
        long[] args = c.args();
        for (int a = 0; a < args.length; a++) {
            sb.append(a > 0 ? ", " : "").append("0x").append(Long.toHexString(args[a]));
        }
        sb.append(") in process ").append(pid).append(" failed: ").append(Errno.name(errno)).append(" (")
                .append(Errno.text(errno)).append(')');
        if (vma != null) {
            sb.append(" for ").append(vma);
        }
        return new RestoreException(sb.toString());
    }
}
