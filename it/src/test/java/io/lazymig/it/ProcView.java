package io.lazymig.it;

import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Memory;
import io.lazymig.jni.NativeLibrary;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The test's own reading of /proc/PID of a workload held still (SIGSTOP), and what a dump of it
 * must then contain, derived independently of the dump code from the rules in CRIU-FACTS §1.5,
 * §4.6 and KERNEL-FACTS §2.
 */
final class ProcView {
    static final long PAGE = 4096;
    static final int MAP_SHARED = 0x1;
    static final int MAP_PRIVATE = 0x2;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_GROWSDOWN = 0x100;
    static final int MAP_LOCKED = 0x2000;
    static final int MAP_NORESERVE = 0x4000;
    static final int VMA_AREA_REGULAR = 0x1;
    static final int VMA_AREA_VSYSCALL = 0x4;
    static final int VMA_AREA_VDSO = 0x8;
    static final int VMA_AREA_HEAP = 0x20;
    static final int VMA_FILE_PRIVATE = 0x40;
    static final int VMA_FILE_SHARED = 0x80;
    static final int VMA_ANON_PRIVATE = 0x200;
    static final int VMA_AREA_VVAR = 0x1000;

    private static final long PRESENT = 1L << 63;
    private static final long SWAPPED = 1L << 62;
    private static final long FILE_OR_SHARED = 1L << 61;
    private static final long PFN_MASK = (1L << 55) - 1;

    private ProcView() {
    }

    /** One /proc/PID/smaps entry. */
    record Mapping(long start, long end, String perms, long offset, long inode, String path, Set<String> vmFlags) {
        boolean shared() {
            return perms.charAt(3) == 's';
        }

        boolean file() {
            return inode != 0 && path != null && path.startsWith("/");
        }

        boolean named(String... names) {
            return path != null && List.of(names).contains(path);
        }

        int prot() {
            return (perms.charAt(0) == 'r' ? 1 : 0) | (perms.charAt(1) == 'w' ? 2 : 0) | (perms.charAt(2) == 'x' ? 4 : 0);
        }

        /** MAP_* flags as CRIU derives them. */
        int expectedFlags() {
            int extra = (vmFlags.contains("gd") ? MAP_GROWSDOWN : 0) | (vmFlags.contains("lo") ? MAP_LOCKED : 0)
                    | (vmFlags.contains("nr") ? MAP_NORESERVE : 0);
            if (named("[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]")) {
                return MAP_PRIVATE | MAP_ANONYMOUS;
            }
            if (file()) {
                return (shared() ? MAP_SHARED : MAP_PRIVATE) | extra;
            }
            return MAP_PRIVATE | MAP_ANONYMOUS | extra;
        }

        /** VMA_* status as CRIU sets it (CRIU-FACTS §4.6 "typical values"). */
        int expectedStatus() {
            if (named("[vsyscall]")) {
                return VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE;
            }
            if (named("[vdso]")) {
                return VMA_AREA_REGULAR | VMA_ANON_PRIVATE | VMA_AREA_VDSO;
            }
            if (named("[vvar]", "[vvar_vclock]")) {
                return VMA_AREA_REGULAR | VMA_ANON_PRIVATE | VMA_AREA_VVAR;
            }
            if (file()) {
                return VMA_AREA_REGULAR | (shared() ? VMA_FILE_SHARED : VMA_FILE_PRIVATE);
            }
            return VMA_AREA_REGULAR | VMA_ANON_PRIVATE | (named("[heap]") ? VMA_AREA_HEAP : 0);
        }

        long expectedPgoff() {
            return file() ? offset : 0;
        }

        boolean special() {
            return named("[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]");
        }

        /** CRIU-FACTS §1.5: private anonymous, not locked, not hugetlb, not the vdso block. */
        boolean canBeLazy() {
            return !file() && !shared() && !special() && !vmFlags.contains("lo") && !vmFlags.contains("ht");
        }

        @Override
        public String toString() {
            return String.format("%x-%x %s %x %s", start, end, perms, offset, path == null ? "" : path);
        }
    }

    static List<Mapping> smaps(int pid) throws IOException {
        List<Mapping> out = new ArrayList<>();
        String[] header = null;
        for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "smaps"))) {
            if (line.startsWith("VmFlags:")) {
                String[] range = header[0].split("-");
                out.add(new Mapping(Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16), header[1],
                        Long.parseUnsignedLong(header[2], 16), Long.parseLong(header[4]), header.length > 5 ? header[5] : null,
                        Set.of(line.substring(8).trim().split("\\s+"))));
            } else if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                header = line.trim().split("\\s+", 6);
            }
        }
        return out;
    }

    /** The (key, value) words of /proc/PID/auxv before the AT_NULL pair. */
    static List<Long> auxv(int pid) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(Path.of("/proc", Integer.toString(pid), "auxv")))
                .order(ByteOrder.nativeOrder());
        List<Long> out = new ArrayList<>();
        while (b.remaining() >= 16) {
            long key = b.getLong();
            long value = b.getLong();
            if (key == 0) {
                break;
            }
            out.add(key);
            out.add(value);
        }
        return out;
    }

    /**
     * The open fds as a dump must describe them (all regular files or /dev/null here): path,
     * FD_CLOEXEC as the fd flags, the other fdinfo flags as the open flags, and the position.
     */
    static List<Crit.FdRow> fds(int pid) throws IOException {
        List<Crit.FdRow> out = new ArrayList<>();
        Path dir = Path.of("/proc", Integer.toString(pid));
        List<Integer> fds;
        try (var s = Files.list(dir.resolve("fd"))) {
            fds = s.map(p -> Integer.parseInt(p.getFileName().toString())).sorted().toList();
        }
        for (int fd : fds) {
            String target = Files.readSymbolicLink(dir.resolve("fd").resolve(Integer.toString(fd))).toString();
            long pos = -1;
            int flags = -1;
            for (String l : Files.readAllLines(dir.resolve("fdinfo").resolve(Integer.toString(fd)))) {
                if (l.startsWith("pos:")) {
                    pos = Long.parseLong(l.substring(4).trim());
                } else if (l.startsWith("flags:")) {
                    flags = Integer.parseInt(l.substring(6).trim(), 8);
                }
            }
            int cloexec = FileDescriptor.O_CLOEXEC;
            out.add(new Crit.FdRow(fd, "REG", 0, (flags & cloexec) != 0 ? 1 : 0, flags & ~cloexec, pos, target));
        }
        return out;
    }

    /** The stack pointer of a task stopped in the kernel: the second-to-last field of /proc/PID/syscall. */
    static long stackPointer(int pid) throws IOException {
        String[] f = Files.readString(Path.of("/proc", Integer.toString(pid), "syscall")).trim().split("\\s+");
        return Long.parseUnsignedLong(f[f.length - 2].substring(2), 16);
    }

    /** The pagemap words of [start, end). */
    static long[] pagemap(FileChannel pagemap, long start, long end) throws IOException {
        int n = Math.toIntExact((end - start) / PAGE);
        ByteBuffer b = ByteBuffer.allocate(n * 8).order(ByteOrder.nativeOrder());
        long pos = start / PAGE * 8;
        while (b.hasRemaining()) {
            if (pagemap.read(b, pos + b.position()) <= 0) {
                throw new IOException("short pagemap read at " + Long.toHexString(start));
            }
        }
        b.flip();
        long[] out = new long[n];
        b.asLongBuffer().get(out);
        return out;
    }

    /**
     * The PFN of the shared zero page, or 0 when this kernel maps none on a read fault: two fresh
     * anonymous pages of our own read-faulted, and their PFNs looked up; only one page shared by both
     * is the zero page (the dump decides the same way).
     */
    static long zeroPagePfn() throws IOException {
        NativeLibrary.load();
        long addr = Memory.mapAnonymous(2 * PAGE);
        try {
            Memory.view(addr, (int) (2 * PAGE)).get(0);
            Memory.view(addr, (int) (2 * PAGE)).get((int) PAGE);
            try (FileChannel self = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
                long[] e = pagemap(self, addr, addr + 2 * PAGE);
                if ((e[0] & PRESENT) == 0 || (e[0] & PFN_MASK) == 0) {
                    throw new IOException("cannot read PFNs (not root?): pagemap word " + Long.toHexString(e[0]));
                }
                return (e[0] & PFN_MASK) == (e[1] & PFN_MASK) ? e[0] & PFN_MASK : 0;
            }
        } finally {
            Memory.unmap(addr, 2 * PAGE);
        }
    }

    /**
     * The pages a dump must hold, with their PE_* flags: in private anonymous VMAs the present
     * (but not the shared zero page) or swapped ones; in private file VMAs the present ones that
     * are not file pages (copy-on-write copies); nothing of the vdso block or shared mappings.
     * Lazy (PE_LAZY|PE_PRESENT) in VMAs that can be lazy, except the page holding {@code sp} (the dump
     * keeps a few more eager: DumpImagesIT.keepEager).
     */
    static SortedMap<Long, Integer> expectedPages(int pid, List<Mapping> maps, long sp, long zeroPfn) throws IOException {
        SortedMap<Long, Integer> out = new TreeMap<>(Long::compareUnsigned);
        try (FileChannel pm = FileChannel.open(Path.of("/proc", Integer.toString(pid), "pagemap"), StandardOpenOption.READ)) {
            for (Mapping m : maps) {
                if (m.special() || m.shared()) {
                    continue;
                }
                long[] words = pagemap(pm, m.start(), m.end());
                for (int i = 0; i < words.length; i++) {
                    long w = words[i];
                    long page = m.start() + i * PAGE;
                    boolean present = (w & PRESENT) != 0;
                    boolean dumped = m.file()
                            ? present && (w & FILE_OR_SHARED) == 0
                            : (present && (w & PFN_MASK) != zeroPfn) || (w & SWAPPED) != 0;
                    if (dumped) {
                        boolean lazy = m.canBeLazy() && page != (sp & -PAGE);
                        out.put(page, lazy ? Crit.PE_LAZY | Crit.PE_PRESENT : Crit.PE_PRESENT);
                    }
                }
            }
        }
        return out;
    }

    /** How many present pages map the shared zero page in anonymous VMAs (so a test can tell the rule was exercised). */
    static int zeroPages(int pid, List<Mapping> maps, long zeroPfn) throws IOException {
        int n = 0;
        try (FileChannel pm = FileChannel.open(Path.of("/proc", Integer.toString(pid), "pagemap"), StandardOpenOption.READ)) {
            for (Mapping m : maps) {
                if (m.special() || m.shared() || m.file()) {
                    continue;
                }
                for (long w : pagemap(pm, m.start(), m.end())) {
                    if ((w & PRESENT) != 0 && (w & PFN_MASK) == zeroPfn) {
                        n++;
                    }
                }
            }
        }
        return n;
    }
}
