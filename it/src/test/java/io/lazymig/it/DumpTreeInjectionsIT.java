package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.SigAction;
import io.lazymig.images.Timers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a dump asks of a tree's processes by injection, asked of all of them at once (each
 * question one batch over the tree): every process gets its own answers. A python3 parent with a
 * SIGUSR1 handler and a virtual interval timer forks a child that puts SIGUSR1 back to the
 * default, ignores SIGUSR2, arms a profiling timer and asks for SIGKILL at its parent's death; the
 * images say exactly that of each, and with --leave-running both run on.
 */
class DumpTreeInjectionsIT {
    private static final String SCRIPT = String.join("\n",
            "import ctypes, os, signal, time",
            "signal.signal(signal.SIGUSR1, lambda s, f: None)",
            "signal.setitimer(signal.ITIMER_VIRTUAL, 1000, 7.25)",
            "r, w = os.pipe()",
            "if os.fork() == 0:",
            "    ctypes.CDLL(None).prctl(1, 9)",
            "    signal.signal(signal.SIGUSR1, signal.SIG_DFL)",
            "    signal.signal(signal.SIGUSR2, signal.SIG_IGN)",
            "    signal.setitimer(signal.ITIMER_PROF, 2000, 3.5)",
            "    os.write(w, b'x')",
            "    while True:",
            "        time.sleep(1)",
            "os.read(r, 1)",
            "n = 0",
            "while True:",
            "    print('pid %d counter %d' % (os.getpid(), n), flush=True)",
            "    n += 1",
            "    time.sleep(0.05)");

    @Test
    @Timeout(120)
    void eachProcessGetsItsOwnAnswers() throws Exception {
        try (Workload w = Workload.shell("exec /usr/bin/python3 -c " + quote(SCRIPT));
             TmpDir dir = new TmpDir("lazymig-tree-inject-")) {
            w.awaitFirstLine();
            LazymigCli.Result r = LazymigCli.run("dump", "-t", Integer.toString(w.pid), "-D",
                    dir.resolve("images").toString(), "--leave-running");
            assertEquals(0, r.exit(), r.toString());
            Checkpoint cp = Checkpoint.read(dir.resolve("images"));
            assertEquals(2, cp.processes().size(), "the parent and its child");
            ProcessImage parent = cp.root();
            ProcessImage child = cp.processes().get(1);

            Map<Integer, SigAction> pa = actions(parent);
            Map<Integer, SigAction> ca = actions(child);
            assertTrue(pa.containsKey(10) && pa.get(10).handler() > 1, "the parent's SIGUSR1 handler: " + pa);
            assertTrue(!pa.containsKey(12), "the parent's SIGUSR2 is default: " + pa);
            assertTrue(!ca.containsKey(10), "the child's SIGUSR1 is default again: " + ca);
            assertEquals(1, ca.get(12).handler(), "the child ignores SIGUSR2: " + ca);

            Timers pt = parent.state().timers();
            Timers ct = child.state().timers();
            assertEquals(7, pt.virt().intervalSec(), "the parent's virtual timer: " + pt);
            assertEquals(250_000, pt.virt().intervalUsec(), "the parent's virtual timer: " + pt);
            assertEquals(0, pt.prof().intervalSec() + pt.prof().intervalUsec(), "the parent has no profiling timer: " + pt);
            assertEquals(3, ct.prof().intervalSec(), "the child's profiling timer: " + ct);
            assertEquals(500_000, ct.prof().intervalUsec(), "the child's profiling timer: " + ct);
            assertEquals(0, ct.virt().intervalSec() + ct.virt().intervalUsec(), "timers are not inherited: " + ct);

            assertEquals(0, parent.threads().get(0).pdeathSig(), "the parent asked for no parent-death signal");
            assertEquals(9, child.threads().get(0).pdeathSig(), "the child's parent-death signal");

            long counter = w.lastLine().counter();
            w.awaitCounterAbove(counter + 2); // left running: the parent goes on (and its child with it)
            assertTrue(Files.isDirectory(Path.of("/proc", Integer.toString(child.pid()))), "the child is still there");
        }
    }

    private static Map<Integer, SigAction> actions(ProcessImage p) {
        Map<Integer, SigAction> m = new HashMap<>();
        for (SigAction a : p.state().sigactions()) {
            m.put(a.signo(), a);
        }
        return m;
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
