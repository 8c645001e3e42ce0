package io.lazymig.images;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The sessions and process groups of a tree, and whether restore can recreate them the way CRIU
 * does without helper tasks: every process is forked by its parent and inherits its session and
 * group; a session leader calls setsid() before it forks its children; then every group leader
 * calls setpgid(0, 0) and every other member joins its group with setpgid(0, pgid).
 *
 * <p>The root's session and group may lie outside the tree (a shell job: as CRIU's
 * {@code --shell-job}, the restored root joins restore's own session and group); every other
 * process then shares them, or has its own inside the tree.
 */
public final class TreeIds {
    /** One process of the tree (the root first, parents before children). */
    public record Node(int pid, int ppid, int pgid, int sid) {
    }

    private TreeIds() {
    }

    /** The nodes of a checkpoint: its live processes, then its zombies. */
    public static List<Node> of(Checkpoint cp) {
        List<Node> nodes = new ArrayList<>();
        for (ProcessImage p : cp.processes()) {
            ProcessState s = p.state();
            nodes.add(new Node(s.pid(), s.ppid(), s.pgid(), s.sid()));
        }
        for (Zombie z : cp.zombies()) {
            nodes.add(new Node(z.pid(), z.ppid(), z.pgid(), z.sid()));
        }
        return nodes;
    }

    /** Why restore cannot recreate these sessions and groups ("process P ..."), or null when it can. */
    public static String refusal(List<Node> nodes) {
        if (nodes.isEmpty()) {
            return null;
        }
        Map<Integer, Node> byPid = new HashMap<>();
        for (Node n : nodes) {
            byPid.put(n.pid(), n);
        }
        Node root = nodes.get(0);
        for (Node n : nodes) {
            if (n == root) {
                continue;
            }
            Node parent = byPid.get(n.ppid());
            if (parent == null) {
                return "process " + n.pid() + ": its parent " + n.ppid() + " is not in the tree";
            }
            if (n.sid() != n.pid() && n.sid() != parent.sid()) {
                return "process " + n.pid() + " is in session " + n.sid() + " but its parent " + parent.pid()
                        + " in session " + parent.sid() + " (its parent called setsid() after forking it): "
                        + "restore cannot recreate that without helper processes";
            }
        }
        for (Node n : nodes) {
            if (n.pgid() == n.pid()) {
                continue;
            }
            Node leader = byPid.get(n.pgid());
            if (leader == null) {
                if (n != root && (n.pgid() != root.pgid() || n.sid() != root.sid())) {
                    return "process " + n.pid() + " is in process group " + n.pgid()
                            + ", which no process of the tree leads, and the root is in another: dump the group "
                            + "leader (or the session leader) instead";
                }
                continue;
            }
            if (leader.pgid() != leader.pid()) {
                return "process " + n.pid() + " is in process group " + n.pgid() + ", whose leader has moved to group "
                        + leader.pgid() + ": restore cannot recreate that group";
            }
            if (leader.sid() != n.sid()) {
                return "process " + n.pid() + " in session " + n.sid() + " is in process group " + n.pgid()
                        + " of session " + leader.sid() + ": a group lies in one session";
            }
        }
        return null;
    }

    /** Whether {@code n} leads a session it must create with setsid(). */
    public static boolean leadsSession(Node n) {
        return n.sid() == n.pid();
    }

    /** Whether {@code n} leads a group it must create (a session leader's is made by setsid()). */
    public static boolean leadsGroup(Node n) {
        return n.pgid() == n.pid() && n.sid() != n.pid();
    }

    /** Whether {@code n} joins another process's group of the tree (with setpgid(0, pgid)). */
    public static boolean joinsGroup(Node n, List<Node> nodes) {
        if (n.pgid() == n.pid()) {
            return false;
        }
        for (Node m : nodes) {
            if (m.pid() == n.pgid()) {
                return true;
            }
        }
        return false;
    }
}
