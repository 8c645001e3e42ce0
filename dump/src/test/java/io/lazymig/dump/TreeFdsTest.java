package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tree's fd table, read from this JVM's own /proc/self/fd: once, then kept. */
class TreeFdsTest {
    private static final int SELF = (int) ProcessHandle.current().pid();

    @TempDir
    Path dir;

    @Test
    void findsTheHoldersOfAPipeAndTheSocketsOfTheTreeFromOneReading() throws Exception {
        Set<String> at0 = links();
        try (ServerSocketChannel before = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            before.bind(UnixDomainSocketAddress.of(dir.resolve("before.sock")));
            String beforeSocket = added(at0, links(), "socket:[");
            Set<String> at1 = links();
            Pipe pipe = Pipe.open();
            try {
                String pipeTarget = added(at1, links(), "pipe:[");
                TreeFds fds = new TreeFds(Set.of(SELF));
                assertTrue(fds.sockets().contains(SocketReader.inode(beforeSocket)), beforeSocket + " is the tree's");
                List<TreeFds.Holder> holders = fds.holders(pipeTarget);
                assertEquals(2, holders.size(), "both ends of " + pipeTarget + ": " + holders);
                assertTrue(holders.stream().allMatch(h -> h.pid() == SELF), holders.toString());
                assertEquals(List.of(), fds.holders("pipe:[0]"));
                Set<String> at2 = links();
                try (ServerSocketChannel after = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                    after.bind(UnixDomainSocketAddress.of(dir.resolve("after.sock")));
                    long afterIno = SocketReader.inode(added(at2, links(), "socket:["));
                    assertFalse(fds.sockets().contains(afterIno), "read once: a socket opened since is not in it");
                    assertTrue(new TreeFds(Set.of(SELF)).sockets().contains(afterIno), "a new reading has it");
                }
            } finally {
                pipe.source().close();
                pipe.sink().close();
            }
        }
    }

    @Test
    void aProcessThatIsGoneHoldsNothing() throws Exception {
        Process p = new ProcessBuilder("true").start();
        int gone = (int) p.pid();
        p.waitFor();
        assertEquals(Set.of(), new TreeFds(Set.of(gone)).sockets());
    }

    /** Every fd link of this JVM. */
    private static Set<String> links() throws Exception {
        Set<String> out = new java.util.HashSet<>();
        for (int fd : Preflight.openFds(SELF)) {
            try {
                out.add(Preflight.fdTarget(SELF, fd));
            } catch (java.io.IOException e) {
                // the directory stream's own fd, closed meanwhile
            }
        }
        return out;
    }

    /** The one link starting with {@code prefix} in {@code now} and not in {@code was}. */
    private static String added(Set<String> was, Set<String> now, String prefix) {
        List<String> fresh = now.stream().filter(t -> t.startsWith(prefix) && !was.contains(t)).toList();
        assertEquals(1, fresh.size(), "one new " + prefix + "...]: " + fresh);
        return fresh.get(0);
    }
}
