package io.lazymig.dump;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which process of the dumped tree holds which file: every /proc/PID/fd/N link of the tree, read
 * once and kept. Asked per unix socket (is its peer held by the tree?) and per pipe in flight (does
 * another process hold it?): reading every fd of every process again for each question cost
 * O(sockets x fds) inside the freeze. Read after the freeze, the table stays true while the tree
 * is frozen (the fds a peek installs for a moment are not the tree's).
 */
final class TreeFds {
    /** One fd of one process of the tree. */
    record Holder(int pid, int fd) {
    }

    private final Set<Integer> pids;
    private Map<String, List<Holder>> byTarget;
    private Set<Long> sockets;

    TreeFds(Set<Integer> pids) {
        this.pids = Set.copyOf(pids);
    }

    /** The processes of the tree. */
    Set<Integer> pids() {
        return pids;
    }

    /** The socket inodes the tree holds (a process that exited meanwhile holds none). */
    Set<Long> sockets() throws IOException {
        if (sockets == null) {
            Set<Long> s = new HashSet<>();
            for (String target : table().keySet()) {
                if (SocketReader.isSocket(target)) {
                    s.add(SocketReader.inode(target));
                }
            }
            sockets = Set.copyOf(s);
        }
        return sockets;
    }

    /** The fds of the tree whose link is {@code target} ("pipe:[N]", "socket:[N]"), in pid then fd order. */
    List<Holder> holders(String target) throws IOException {
        return table().getOrDefault(target, List.of());
    }

    private Map<String, List<Holder>> table() throws IOException {
        if (byTarget == null) {
            Map<String, List<Holder>> t = new HashMap<>();
            for (int pid : pids.stream().sorted().toList()) {
                List<Integer> fds;
                try {
                    fds = Preflight.openFds(pid);
                } catch (NoSuchFileException | AccessDeniedException e) {
                    continue; // gone, or a zombie: no fds
                }
                for (int fd : fds) {
                    try {
                        t.computeIfAbsent(Preflight.fdTarget(pid, fd), k -> new ArrayList<>()).add(new Holder(pid, fd));
                    } catch (IOException e) {
                        // closed meanwhile
                    }
                }
            }
            byTarget = t;
        }
        return byTarget;
    }
}
