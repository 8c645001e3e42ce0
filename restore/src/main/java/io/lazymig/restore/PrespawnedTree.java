package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.TreeIds;
import io.lazymig.jni.Ptrace;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The restore stub started ahead ({@link Restorer#prespawnStub}) and, for a tree, its children
 * forked from it with their sessions and groups ({@link TreeSpawn#ahead}) as the source's /proc
 * showed the tree before its freeze: all of it done while the images are still to come. Restore
 * takes it when the checkpoint has the same root pid and, for a tree, the same processes,
 * parents, groups and sessions (and no copy-on-write sharing, which needs memory before the
 * forks); otherwise it is killed and restore makes its own. Owned by one thread (the tracer);
 * whoever holds it last {@link #discard}s it.
 */
public final class PrespawnedTree {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    private int root;
    private TreeSpawn children;

    private PrespawnedTree(int root, TreeSpawn children) {
        this.root = root;
        this.children = children;
    }

    /** A root stub {@code pid} started elsewhere (0: none), with no children. */
    public static PrespawnedTree ofRoot(int pid) {
        return new PrespawnedTree(pid, null);
    }

    /**
     * The stub started as {@code pid} and, when {@code hint} (root first, parents before children;
     * null or one node: a single process) holds a tree, the tree below it. A tree that cannot be made
     * so (a pid taken here) is given up for the root stub alone, as without a hint.
     */
    public static PrespawnedTree start(Path stub, int pid, List<TreeIds.Node> hint) {
        int root = Restorer.prespawnStub(stub, pid);
        if (root <= 0 || hint == null || hint.size() < 2 || hint.get(0).pid() != pid) {
            return new PrespawnedTree(root, null);
        }
        try {
            long t0 = System.nanoTime();
            TreeSpawn t = TreeSpawn.ahead(hint, root);
            log.debug("restore: tree of {} process(es) created ahead in {} us", hint.size(), (System.nanoTime() - t0) / 1000);
            return new PrespawnedTree(root, t);
        } catch (IOException | RuntimeException e) {
            // the root's session may be made already: a fresh stub, as a restore with no tree ahead needs
            log.debug("restore: no tree created ahead below pid {}: {}", pid, e.getMessage());
            kill(root);
            return new PrespawnedTree(Restorer.prespawnStub(stub, pid), null);
        }
    }

    /** The root stub's pid (0: none). */
    public int root() {
        return root;
    }

    /** Whether restore can take it for {@code cp} (its root stub is for cp's root, see the class). */
    boolean fits(Checkpoint cp, CowTree cow) {
        if (root <= 0 || root != cp.root().pid()) {
            return false;
        }
        return children == null || cp.isTree() && cow == null && children.matches(TreeIds.of(cp));
    }

    /** The tree made ahead (null: the root alone); restore's from here on, as is the root. */
    TreeSpawn take() {
        TreeSpawn t = children;
        root = 0;
        children = null;
        return t;
    }

    /** Kills and reaps what was started and not taken. */
    public void discard() {
        if (children != null) {
            children.killChildren();
            children = null;
        }
        if (root > 0) {
            kill(root);
            root = 0;
        }
    }

    private static void kill(int pid) {
        try {
            Ptrace.killAndReap(pid);
        } catch (IOException ignored) {
            // gone already
        }
    }
}
