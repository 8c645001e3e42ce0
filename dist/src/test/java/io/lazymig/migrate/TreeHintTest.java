package io.lazymig.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.TreeIds;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TreeHintTest {
    private static final List<TreeIds.Node> TREE = List.of(new TreeIds.Node(100, 0, 100, 100),
            new TreeIds.Node(101, 100, 101, 100), new TreeIds.Node(102, 100, 101, 100),
            new TreeIds.Node(103, 101, 101, 100));

    @Test
    void aTreeGoesThereAndBack() {
        assertEquals(TREE, TreeHint.decode(TreeHint.encode(TREE), 100));
    }

    @Test
    void oneProcessOrNoKeyIsNoHint() {
        assertNull(TreeHint.encode(TREE.subList(0, 1)));
        assertNull(TreeHint.decode(null, 100));
    }

    @Test
    void idsOutsideThisPidNamespaceAreNoHint() {
        // /proc shows 0 for a group or session led from outside the PID namespace (CI's unshare --pid)
        List<TreeIds.Node> outside = List.of(new TreeIds.Node(100, 0, 0, 0), new TreeIds.Node(101, 100, 0, 0));
        assertNull(TreeHint.encode(outside));
        assertNull(TreeHint.encode(List.of(TREE.get(0), new TreeIds.Node(101, 100, 101, 0))));
    }

    @Test
    void aTreeTooLargeIsNotCreatedAhead() {
        List<TreeIds.Node> big = new ArrayList<>(List.of(new TreeIds.Node(1, 0, 1, 1)));
        for (int pid = 2; pid <= TreeHint.MAX_PROCESSES + 1; pid++) {
            big.add(new TreeIds.Node(pid, 1, 1, 1));
        }
        assertNull(TreeHint.encode(big));
        StringBuilder sb = new StringBuilder("1:0:1:1");
        for (int pid = 2; pid <= TreeHint.MAX_PROCESSES + 1; pid++) {
            sb.append(',').append(pid).append(":1:1:1");
        }
        assertNull(TreeHint.decode(sb.toString(), 1));
    }

    @Test
    void aTreeRestoreWouldRefuseIsNoHint() {
        // 101's session is its parent's old one: not recreatable without helpers
        assertNull(TreeHint.decode("100:0:100:100,101:100:101:7", 100));
    }

    @Test
    void malformedHintsAreRefusedWithAReason() {
        for (String bad : new String[] {"", "100", "100:0:100", "100:0:100:x", "100:0:100:100,", "100:0:-1:100",
                "100:0:100:100,101:0:101:100", "100:0:100:100,101:999:101:100", "200:0:200:200,201:200:200:200",
                "100:0:100:100,100:100:100:100", "100:0:100:100,101:100:0:100"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TreeHint.decode(bad, 100), bad);
            assertTrue(e.getMessage().startsWith("bad tree"), e.getMessage());
        }
    }
}
