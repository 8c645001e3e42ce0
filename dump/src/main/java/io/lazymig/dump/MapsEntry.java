package io.lazymig.dump;

import java.util.Set;

/**
 * One line of /proc/PID/smaps: the range, permissions, file offset and path, plus the kernel's
 * VmFlags (two-letter codes such as "gd" for grows-down, "lo" for locked, "ht" for hugetlb).
 */
public record MapsEntry(long start, long end, boolean read, boolean write, boolean exec, boolean shared,
                        long offset, long inode, String path, Set<String> vmFlags) {

    public long length() {
        return end - start;
    }

    /** A kernel-provided special mapping: [vdso], [vvar], [vvar_vclock], [vsyscall]. */
    public boolean isVdsoBlock() {
        return "[vdso]".equals(path) || "[vvar]".equals(path) || "[vvar_vclock]".equals(path);
    }

    public boolean isVsyscall() {
        return "[vsyscall]".equals(path);
    }

    /** Backed by a file (a path that is not a [pseudo] name and an inode). */
    public boolean isFile() {
        return inode != 0 && path != null && path.startsWith("/");
    }

    /** Anonymous memory: no file behind it ([heap], [stack] and nameless mappings). */
    public boolean isAnonymous() {
        return !isFile() && !isVdsoBlock() && !isVsyscall();
    }

    @Override
    public String toString() {
        return String.format("%x-%x %s%s%s%s %x %s", start, end, read ? "r" : "-", write ? "w" : "-",
                exec ? "x" : "-", shared ? "s" : "p", offset, path == null ? "" : path);
    }
}
