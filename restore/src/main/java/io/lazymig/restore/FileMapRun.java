package io.lazymig.restore;

import io.lazymig.images.Vma;
import io.lazymig.jni.Errno;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The file-backed and shared memory mappings of every process of a tree in two rounds of stops for
 * all of them ({@link SyscallRun#runAcross}): each process opens its files (each path and mode
 * once) in one run, then maps them, gives each VMA its advice and closes the files in a second.
 * Injected one by one, an open, an mmap and a close per VMA cost three rounds of stops each: a
 * small C program has ~15 such VMAs (its binary, libc, ld.so), ~45 injections a process, and a
 * tree of 4 paid them one process after another.
 */
final class FileMapRun {
    private FileMapRun() {
    }

    /** Maps {@code maps.get(p)} in the process of {@code stubs.get(p)}, every process at once. */
    static void run(List<Stub> stubs, List<List<AddressSpace.FileMap>> maps) throws IOException {
        List<List<AddressSpace.FileMap>> files = new ArrayList<>(); // the first mapping of each path and mode
        List<int[]> which = new ArrayList<>(); // each mapping's index in files
        boolean any = false;
        for (List<AddressSpace.FileMap> list : maps) {
            Map<String, Integer> seen = new HashMap<>();
            List<AddressSpace.FileMap> distinct = new ArrayList<>();
            int[] idx = new int[list.size()];
            for (int i = 0; i < list.size(); i++) {
                AddressSpace.FileMap m = list.get(i);
                Integer at = seen.putIfAbsent(m.openFlags() + ":" + m.path(), distinct.size());
                if (at == null) {
                    at = distinct.size();
                    distinct.add(m);
                }
                idx[i] = at;
            }
            files.add(distinct);
            which.add(idx);
            any |= !list.isEmpty();
        }
        if (!any) {
            return;
        }
        long[][] fds = open(stubs, files);
        List<List<SyscallRun.Call>> calls = new ArrayList<>();
        List<List<Vma>> vmas = new ArrayList<>();
        for (int p = 0; p < stubs.size(); p++) {
            List<SyscallRun.Call> c = new ArrayList<>();
            List<Vma> v = new ArrayList<>();
            for (int i = 0; i < maps.get(p).size(); i++) {
                AddressSpace.FileMap m = maps.get(p).get(i);
                long[] args = m.mmap().args().clone();
                args[4] = fds[p][which.get(p)[i]];
                c.add(new SyscallRun.Call(Syscalls.MMAP, args));
                v.add(m.vma());
                for (int advice : m.advice()) {
                    c.add(new SyscallRun.Call(Syscalls.MADVISE, m.vma().start(), m.vma().length(), advice));
                    v.add(m.vma());
                }
            }
            for (long fd : fds[p]) {
                c.add(new SyscallRun.Call(Syscalls.CLOSE, fd));
                v.add(null);
            }
            calls.add(c);
            vmas.add(v);
        }
        MemoryStep.runAcross("mmap of a file", stubs, calls, vmas);
    }

    /**
     * Opens {@code files.get(p)} in process p (O_CLOEXEC), every process at once, in as many runs as
     * their paths need of the scratch area; returns the fds. A file that cannot be opened is one
     * clear line, as {@link AddressSpace#openFile}'s.
     */
    private static long[][] open(List<Stub> stubs, List<List<AddressSpace.FileMap>> files) throws IOException {
        long[][] fds = new long[stubs.size()][];
        int[] next = new int[stubs.size()];
        for (int p = 0; p < stubs.size(); p++) {
            fds[p] = new long[files.get(p).size()];
        }
        while (true) {
            List<List<SyscallRun.Call>> round = new ArrayList<>();
            int[] from = next.clone();
            boolean any = false;
            for (int p = 0; p < stubs.size(); p++) {
                List<SyscallRun.Call> calls = fill(stubs.get(p), files.get(p), next[p]);
                next[p] += calls.size();
                any |= !calls.isEmpty();
                round.add(calls);
            }
            if (!any) {
                return fds;
            }
            long[][] rcs = SyscallRun.runAcross(stubs, round);
            for (int p = 0; p < rcs.length; p++) {
                for (int i = 0; i < rcs[p].length; i++) {
                    long rc = rcs[p][i];
                    if (SyscallRun.failed(rc)) {
                        int errno = Syscalls.errno(rc);
                        throw new RestoreException("cannot open " + files.get(p).get(from[p] + i).path()
                                + " for the restored process: " + Errno.name(errno) + " (" + Errno.text(errno) + ")");
                    }
                    fds[p][from[p] + i] = rc;
                }
            }
        }
    }

    /**
     * The openat calls of {@code files} from {@code first} on that fit one run in {@code stub}'s
     * scratch, their paths written there first (one write), the run's code and records after them.
     */
    private static List<SyscallRun.Call> fill(Stub stub, List<AddressSpace.FileMap> files, int first)
            throws IOException {
        stub.resetScratch();
        List<byte[]> paths = new ArrayList<>();
        long used = SyscallRun.CODE_SPACE + 8;
        for (int i = first; i < files.size(); i++) {
            byte[] b = files.get(i).path().getBytes(StandardCharsets.UTF_8);
            long need = ((b.length + 1 + 7) & -8L) + SyscallRun.RECORD;
            if (used + need > Stub.SCRATCH_SIZE) {
                break;
            }
            used += need;
            paths.add(b);
        }
        if (paths.isEmpty()) {
            if (first < files.size()) {
                throw new RestoreException("path too long for restore's scratch area: " + files.get(first).path());
            }
            return List.of();
        }
        int bytes = 0;
        for (byte[] b : paths) {
            bytes += (b.length + 1 + 7) & -8;
        }
        ByteBuffer buf = Stub.struct(bytes);
        int[] offsets = new int[paths.size()];
        for (int i = 0; i < paths.size(); i++) {
            offsets[i] = buf.position();
            buf.put(paths.get(i)).put((byte) 0);
            buf.position((buf.position() + 7) & -8);
        }
        buf.clear();
        long base = stub.put(buf);
        List<SyscallRun.Call> calls = new ArrayList<>(paths.size());
        for (int i = 0; i < paths.size(); i++) {
            calls.add(new SyscallRun.Call(Syscalls.OPENAT, Syscalls.AT_FDCWD, base + offsets[i],
                    files.get(first + i).openFlags(), 0));
        }
        return calls;
    }
}
