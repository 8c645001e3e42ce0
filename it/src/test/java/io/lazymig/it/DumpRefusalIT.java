package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What {@code lazymig dump} cannot dump yet is refused with exit status 1 and one line naming the
 * problem, and the process is left running untouched: not stopped, no tracer, its counter still
 * advancing, and no image written. A thread under seccomp is named by its tid and name; an
 * io_uring by its fd; an epoll by its fd and the fd it watches that lazymig cannot restore (of a kind
 * it does not restore, or an fd number that holds another file than the one watched: found frozen).
 */
class DumpRefusalIT {
    private static final String SUPPORTED = "only regular files, /dev/null, /dev/zero, /dev/full, /dev/random, "
            + "/dev/urandom, terminals, pipes, FIFOs, memfds, eventfds, timerfds, signalfds, inotify, epoll and TCP/UDP, unix and "
            + "netlink sockets are supported yet";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "childgroup | has a tree restore cannot rebuild: process \\d+ is in process group \\d+, which no process of the tree leads, and the root is in another: dump the group leader \\(or the session leader\\) instead",
        "socket  | fd 3 is a socket \\(socket:\\[\\d+\\]\\) of a kind lazymig does not restore \\(raw, packet or another family\\)",
        "epoll-pidfd | fd 3 \\(epoll\\) watches fd 4, which is an pidfd \\(anon_inode:\\[pidfd\\]\\): " + SUPPORTED,
        "epoll-reused | fd 3 \\(epoll\\) watches fd 4, which holds another file now \\(the watched file lives on in a dup\\): "
                + "remove the watch \\(EPOLL_CTL_DEL\\) when closing the fd to make it restorable",
        "io_uring | fd 3 is an io_uring \\(anon_inode:\\[io_uring\\]\\): " + SUPPORTED,
        "memfd-private | has private mapping of a memfd [0-9a-f]+-[0-9a-f]+ rw-p 0 /memfd:lazymig-priv \\(deleted\\) \\(inode \\d+\\): not supported yet \\(a shared mapping of it is\\)",
        "sysv-shm | has SysV shared memory \\(shmat, key 0x00000000\\) [0-9a-f]+-[0-9a-f]+ rw-s 0 /SYSV00000000 \\(deleted\\) \\(inode \\d+\\): not supported yet",
        "seccomp | thread \\d+ \\(filtered\\) has seccomp filter \\(Seccomp: 2\\): seccomp is not supported yet",
    })
    @Timeout(60)
    void refusedAndLeftRunning(String kind, String message) throws Exception {
        for (String exe : new String[] { "unsupported", "unsupported-static" }) {
            try (Workload w = Workload.c(exe, kind, "50"); TmpDir dir = new TmpDir("lazymig-refused-")) {
                w.awaitFirstLine();
                Path images = dir.resolve("images");
                LazymigCli.Result r = LazymigCli.run("dump", "-t", Integer.toString(w.pid), "-D", images.toString());
                assertEquals(1, r.exit(), r.toString());
                assertEquals("", r.stdout(), r.toString());
                assertThat(r.stderr(), matchesPattern("lazymig dump: process " + w.pid + " " + message + "\n"));
                assertFalse(Files.exists(images), "a refused dump must write nothing");

                assertTrue(w.alive(), "the process must be left running");
                assertEquals(0, w.tracerPid(), "the process must not stay traced");
                char state = w.state();
                assertTrue(state == 'S' || state == 'R', "state " + state);
                w.awaitCounterAbove(w.lastLine().counter());
            }
        }
    }

    @Test
    @Timeout(60)
    void aPidThatDoesNotExist() throws Exception {
        // readAllLines: the JDK's readString truncates /proc/sys files
        int pid = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).strip()) - 1;
        while (Files.exists(Path.of("/proc", Integer.toString(pid)))) {
            pid--;
        }
        try (TmpDir dir = new TmpDir("lazymig-refused-")) {
            LazymigCli.Result r = LazymigCli.run("dump", "-t", Integer.toString(pid), "-D", dir.resolve("images").toString());
            assertEquals(1, r.exit(), r.toString());
            assertEquals("lazymig dump: no process " + pid + "\n", r.stderr(), r.toString());
            assertFalse(Files.exists(dir.resolve("images")));
        }
    }
}
