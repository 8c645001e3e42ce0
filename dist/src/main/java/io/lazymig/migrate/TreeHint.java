package io.lazymig.migrate;

import io.lazymig.images.TreeIds;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The migrate request's "tree" key: the source tree as B's /proc shows it before the freeze
 * (pid:ppid:pgid:sid of each process, root first, parents before children), so that the agent
 * creates the tree's processes before the images come ({@code PrespawnedTree}). Only a hint: the
 * agent uses what it made only if the checkpoint's tree is the same.
 */
final class TreeHint {
    static final String KEY = "tree";
    /** A larger tree is not created ahead (the hint is then ignored): a bound on what a request makes A fork. */
    static final int MAX_PROCESSES = 256;

    private TreeHint() {
    }

    /**
     * The value for {@code nodes}, or null when there is nothing to create ahead: one process, too
     * many, or a group or session (or the root's parent) outside this PID namespace, which /proc
     * shows as 0 (a tree under {@code unshare --pid}); restore then makes the tree itself, as it
     * handles such ids.
     */
    static String encode(List<TreeIds.Node> nodes) {
        if (nodes.size() < 2 || nodes.size() > MAX_PROCESSES) {
            return null;
        }
        for (TreeIds.Node n : nodes) {
            if (n.pid() <= 0 || n.pgid() <= 0 || n.sid() <= 0 || n != nodes.get(0) && n.ppid() <= 0) {
                return null;
            }
        }
        StringBuilder sb = new StringBuilder();
        for (TreeIds.Node n : nodes) {
            sb.append(sb.length() > 0 ? "," : "").append(n.pid()).append(':').append(n.ppid()).append(':')
                    .append(n.pgid()).append(':').append(n.sid());
        }
        return sb.toString();
    }

    /**
     * The nodes of {@code value} for the root {@code pid} (null value: none), or null when it names a
     * tree not worth creating ahead (one the restore would refuse); a malformed one is an
     * IllegalArgumentException saying what is wrong.
     */
    static List<TreeIds.Node> decode(String value, int pid) {
        if (value == null) {
            return null;
        }
        String[] entries = value.split(",", MAX_PROCESSES + 1);
        if (entries.length > MAX_PROCESSES) {
            return null;
        }
        List<TreeIds.Node> nodes = new ArrayList<>(entries.length);
        Set<Integer> seen = new HashSet<>();
        for (String e : entries) {
            String[] f = e.split(":", -1);
            if (f.length != 4) {
                throw new IllegalArgumentException("bad tree entry '" + shorten(e) + "' (want pid:ppid:pgid:sid)");
            }
            int[] v = new int[4];
            for (int i = 0; i < 4; i++) {
                try {
                    v[i] = Integer.parseInt(f[i]);
                } catch (NumberFormatException x) {
                    throw new IllegalArgumentException("bad tree entry '" + shorten(e) + "' (want pid:ppid:pgid:sid)");
                }
                if (v[i] < 0 || i != 1 && v[i] == 0) {
                    throw new IllegalArgumentException("bad tree entry '" + shorten(e) + "': ids must be positive");
                }
            }
            boolean root = nodes.isEmpty();
            if (root ? v[0] != pid : !seen.contains(v[1])) {
                throw new IllegalArgumentException("bad tree entry '" + shorten(e) + "': "
                        + (root ? "the first is not process " + pid : "its parent is not listed before it"));
            }
            if (!seen.add(v[0])) {
                throw new IllegalArgumentException("bad tree: process " + v[0] + " listed twice");
            }
            nodes.add(new TreeIds.Node(v[0], v[1], v[2], v[3]));
        }
        return TreeIds.refusal(nodes) == null ? nodes : null;
    }

    private static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
