package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What a crit shows of a dump directory, through it/scripts/crit-summary.py (which runs
 * {@code crit decode} on every image but pages-*.img and prints one record per line). Works with
 * Debian's /usr/bin/crit (3.17) and with {@code criu-reference crit} (4.1.1).
 */
final class Crit {
    static final int PE_LAZY = 2;
    static final int PE_PRESENT = 4;

    private Crit() {
    }

    /** One vma_entry as crit decodes it. */
    record VmaRow(long start, long end, int prot, int flags, int status, long pgoff) {
        @Override
        public String toString() {
            return String.format("%x-%x prot %x flags %x status %x pgoff %x", start, end, prot, flags, status, pgoff);
        }
    }

    /** One fdinfo_entry joined with its files.img entry. */
    record FdRow(int fd, String type, long fileId, int fdFlags, int openFlags, long pos, String path) {
        /** Everything but the file id (ids are numbering, not content). */
        FdRow withoutId() {
            return new FdRow(fd, type, 0, fdFlags, openFlags, pos, path);
        }
    }

    /** One pagemap_entry. */
    record PmapRow(long vaddr, long nrPages, int flags) {
    }

    /** The summary of one dump directory. */
    /**
     * {@code pstree}: pid, ppid, pgid, sid, then the threads; {@code comms}: tc.comm by core image (empty
     * for a non-leader thread, which has no tc); {@code threadNames}: thread_core.comm by core image.
     */
    record Summary(List<String> decoded, List<long[]> pstree, Map<Long, String> comms, Map<Long, String> threadNames,
                   Map<Long, Integer> taskStates,
                   Map<String, List<String>> regFields, Map<String, Long> gpregs, Map<String, Long> mm,
                   List<Long> auxv, List<VmaRow> vmas, List<PmapRow> pmaps, List<FdRow> fds, Map<String, String> files,
                   Long umask) {

        /** Every dumped page with its PE_* flags, by address. */
        SortedMap<Long, Integer> pages() {
            SortedMap<Long, Integer> out = new TreeMap<>(Long::compareUnsigned);
            for (PmapRow r : pmaps) {
                for (long i = 0; i < r.nrPages(); i++) {
                    Integer old = out.put(r.vaddr() + i * 4096, r.flags());
                    assertEquals(null, old, String.format("page %x listed twice in the pagemap", r.vaddr() + i * 4096));
                }
            }
            return out;
        }

        long presentPages() {
            return pmaps.stream().filter(r -> (r.flags() & PE_PRESENT) != 0).mapToLong(PmapRow::nrPages).sum();
        }
    }

    /** Debian's crit (the top Makefile installs package criu); fails loudly when missing. */
    static List<String> system() {
        Path crit = Path.of("/usr/bin/crit");
        assertTrue(Files.isExecutable(crit), "missing " + crit + " (install Debian's package criu: the top Makefile does)");
        return List.of(crit.toString());
    }

    static Summary summarize(List<String> crit, Path dir) throws IOException, InterruptedException {
        Path script = Workload.root().resolve("it/scripts/crit-summary.py");
        assertTrue(Files.isRegularFile(script), "missing " + script);
        List<String> cmd = List.of("/usr/bin/python3", script.toString(), "--crit", String.join(" ", crit), dir.toString());
        ChildGroup.Finished f = ChildGroup.run(120, cmd);
        assertFalse(f.timedOut(), "crit-summary did not finish within 120 s (killed):\n" + f.output());
        if (f.exit() != 0) {
            fail("crit failed on " + dir + ": " + f.output());
        }
        return parse(f.output());
    }

    static Summary parse(String text) {
        List<String> decoded = new ArrayList<>();
        List<long[]> pstree = new ArrayList<>();
        Map<Long, String> comms = new LinkedHashMap<>();
        Map<Long, String> threadNames = new LinkedHashMap<>();
        Map<Long, Integer> states = new LinkedHashMap<>();
        Map<String, List<String>> regFields = new LinkedHashMap<>();
        Map<String, Long> gpregs = new LinkedHashMap<>();
        Map<String, Long> mm = new LinkedHashMap<>();
        List<Long> auxv = new ArrayList<>();
        List<VmaRow> vmas = new ArrayList<>();
        List<PmapRow> pmaps = new ArrayList<>();
        List<FdRow> fds = new ArrayList<>();
        Map<String, String> files = new LinkedHashMap<>();
        Long umask = null;
        for (String line : text.split("\n")) {
            String[] f = line.split(" ");
            switch (f[0]) {
                case "decoded" -> decoded.add(f[1]);
                case "pstree" -> {
                    // pid, ppid, pgid, sid, then the threads (leader first)
                    String[] threads = f.length > 5 && !f[5].isEmpty() ? f[5].split(",") : new String[0];
                    long[] e = new long[4 + threads.length];
                    for (int i = 0; i < 4; i++) {
                        e[i] = hex(f[i + 1]);
                    }
                    for (int i = 0; i < threads.length; i++) {
                        e[4 + i] = hex(threads[i]);
                    }
                    pstree.add(e);
                }
                case "thread" -> threadNames.put(Long.parseLong(f[1]), line.split(" ", 4).length > 3 ? line.split(" ", 4)[3] : "");
                case "core" -> {
                    long tid = Long.parseLong(f[1]);
                    states.put(tid, (int) hex(f[2]));
                    String[] parts = line.split(" ", 4);
                    comms.put(tid, parts.length > 3 ? parts[3] : "");
                }
                case "regs" -> regFields.put(f[1], f.length > 2 ? List.of(f[2].split(",")) : List.of());
                case "gpreg" -> gpregs.put(f[1], hex(f[2]));
                case "mm" -> mm.put(f[1], hex(f[2]));
                case "auxv" -> {
                    for (String x : f.length > 1 ? f[1].split(",") : new String[0]) {
                        auxv.add(hex(x));
                    }
                }
                case "vma" -> vmas.add(new VmaRow(hex(f[1]), hex(f[2]), (int) hex(f[3]), (int) hex(f[4]), (int) hex(f[5]),
                        hex(f[6])));
                case "pmap" -> pmaps.add(new PmapRow(hex(f[1]), hex(f[2]), (int) hex(f[3])));
                case "fd" -> {
                    String[] g = line.split(" ", 8);
                    fds.add(new FdRow((int) hex(g[1]), g[2], hex(g[3]), (int) hex(g[4]), (int) hex(g[5]), hex(g[6]), g[7]));
                }
                case "file" -> files.put(f[1], line.split(" ", 3)[2]);
                case "umask" -> umask = hex(f[1]);
                default -> fail("unexpected crit-summary line: " + line);
            }
        }
        return new Summary(decoded, pstree, comms, threadNames, states, regFields, gpregs, mm, auxv, vmas, pmaps, fds, files,
                umask);
    }

    private static long hex(String s) {
        return Long.parseUnsignedLong(s, 16);
    }
}
