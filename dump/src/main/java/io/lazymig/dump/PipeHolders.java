package io.lazymig.dump;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who holds which pipe on this host: every /proc/PID/fd/N whose link is "pipe:[INODE]", for the
 * processes outside the dump. A pipe some outside process holds (either end) is external: its data
 * and its other end are not ours to move. One scan of /proc per dump, done at the first pipe before
 * the freeze (it costs ~30 ms with 120 processes; only a pipe the process made since is scanned for
 * again, frozen: an outside process can only come to hold a pipe through one that held it already).
 */
final class PipeHolders {
    /** One outside process holding the pipe: pid, its name, one of its fds. */
    record Holder(int pid, String comm, int fd) {
        @Override
        public String toString() {
            return "process " + pid + " (" + comm + ") fd " + fd;
        }
    }

    private final Map<String, Holder> outside;
    private final Set<String> known;

    private PipeHolders(Map<String, Holder> outside, Set<String> known) {
        this.outside = outside;
        this.known = known;
    }

    /** Scans /proc for the pipes held by processes other than {@code dumped} (and lazymig itself). */
    static PipeHolders scan(Set<Integer> dumped) throws IOException {
        Map<String, Holder> outside = new HashMap<>();
        Set<String> known = new HashSet<>();
        int self = (int) ProcessHandle.current().pid();
        List<Integer> pids = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (!n.isEmpty() && n.chars().allMatch(Character::isDigit)) {
                    pids.add(Integer.parseInt(n));
                }
            }
        }
        for (int pid : pids) {
            if (pid == self) {
                continue;
            }
            boolean inside = dumped.contains(pid);
            Path fdDir = Path.of("/proc", Integer.toString(pid), "fd");
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(fdDir)) {
                for (Path fd : ds) {
                    String target;
                    try {
                        target = Files.readSymbolicLink(fd).toString();
                    } catch (IOException e) {
                        continue; // closed meanwhile
                    }
                    if (inside) {
                        known.add(target);
                    } else if (target.startsWith("pipe:[") && !outside.containsKey(target)) {
                        outside.put(target, new Holder(pid, comm(pid), Integer.parseInt(fd.getFileName().toString())));
                    }
                }
            } catch (IOException e) {
                // exited meanwhile, or a kernel thread without fds
            }
        }
        return new PipeHolders(outside, known);
    }

    /** Whether the dumped processes held {@code resource} at the scan (a pipe made since needs a new scan). */
    boolean knows(String resource) {
        return known.contains(resource);
    }

    /** An outside process holding {@code resource} ("pipe:[INODE]"), or null when only the dump holds it. */
    Holder outsideHolder(String resource) {
        return outside.get(resource);
    }

    private static String comm(int pid) {
        try {
            return ProcText.read(Path.of("/proc", Integer.toString(pid), "comm")).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}
