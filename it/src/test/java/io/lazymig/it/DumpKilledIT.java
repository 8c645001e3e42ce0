package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code dump} killed with SIGKILL while the process is frozen (after each step of the dump, held
 * there by LAZYMIG_PAUSE_AFTER, and while dump --lazy-pages serves): the process runs on as if
 * it had never been frozen — no thread traced or stopped, each thread's signal mask its own, its
 * work going on. (Before, a dump killed after its injections left the process with an injected
 * syscall's registers: it died of SIGSEGV when the kernel detached it.) The injections themselves,
 * a few ms, are the one window not covered (see FrozenProcess#putBack).
 */
class DumpKilledIT {
    @ParameterizedTest(name = "killed after step {0}")
    @ValueSource(strings = {"freeze", "regs", "inject", "maps", "files", "images"})
    @Timeout(120)
    void killedAfterAStep(String step) throws Exception {
        try (Workload w = Workload.pythonThreads(20); TmpDir dir = new TmpDir("lazymig-killed-")) {
            w.awaitFirstLine();
            killedWhileFrozen(w, List.of("dump", "-t", Integer.toString(w.pid), "-D", dir.resolve("images").toString()),
                    Map.of("LAZYMIG_PAUSE_AFTER", step), "paused after step " + step);
        }
    }

    @Test
    @Timeout(120)
    void killedWhileServingLazyPages() throws Exception {
        try (Workload w = Workload.pythonThreads(20); TmpDir dir = new TmpDir("lazymig-killed-")) {
            w.awaitFirstLine();
            killedWhileFrozen(w, List.of("dump", "--lazy-pages", "--no-auth", "--address", "127.0.0.1", "--port", "0",
                    "-t", Integer.toString(w.pid), "-D", dir.resolve("images").toString()), Map.of(), "serving the lazy pages");
        }
    }

    private static void killedWhileFrozen(Workload w, List<String> dumpArgs, Map<String, String> env, String frozenLine)
            throws Exception {
        Map<Long, String> masks = new LinkedHashMap<>();
        for (long tid : tids(w.pid)) {
            masks.put(tid, taskStatus(w.pid, tid, "SigBlk"));
        }
        List<String> cmd = new ArrayList<>(List.of(Workload.root().resolve("lazymig").toString()));
        cmd.addAll(dumpArgs);
        Path err = Files.createTempFile("lazymig-killed-", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(err.toFile());
            pb.environment().putAll(env);
            try (ChildGroup dump = ChildGroup.start(pb)) {
                awaitText(err, frozenLine, dump);
                for (long tid : masks.keySet()) {
                    String tracer = taskStatus(w.pid, tid, "TracerPid");
                    assertTrue(!tracer.equals("0"), "thread " + tid + " is traced by the dump while it waits");
                }
                long counter = w.lastLine().counter();
                dump.killGroup();
                assertTrue(!dump.process.isAlive(), "the dump is gone");
                w.awaitCounterAbove(counter + 2);
            }
            for (Map.Entry<Long, String> e : masks.entrySet()) {
                long tid = e.getKey();
                assertEquals("0", taskStatus(w.pid, tid, "TracerPid"), "thread " + tid + " is no longer traced");
                assertEquals(e.getValue(), taskStatus(w.pid, tid, "SigBlk"), "thread " + tid + "'s own mask is back");
                char state = taskStatus(w.pid, tid, "State").charAt(0);
                assertTrue(state == 'S' || state == 'R', "thread " + tid + " runs or sleeps, state " + state);
            }
            assertTrue(w.alive(), "the workload runs on: " + w.outputText());
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static void awaitText(Path file, String text, ChildGroup child) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(file).contains(text)) {
            if (!child.process.isAlive()) {
                fail("the dump exited (" + child.process.exitValue() + ") before '" + text + "':\n" + Files.readString(file));
            }
            if (System.nanoTime() > deadline) {
                fail("the dump printed no '" + text + "' in 60 s:\n" + Files.readString(file));
            }
            Thread.sleep(10);
        }
    }

    private static List<Long> tids(int pid) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc", Integer.toString(pid), "task"))) {
            return s.map(p -> Long.parseLong(p.getFileName().toString())).sorted().toList();
        }
    }

    private static String taskStatus(int pid, long tid, String key) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "task", Long.toString(tid), "status"))) {
            if (l.startsWith(key + ":")) {
                return l.substring(key.length() + 1).trim();
            }
        }
        throw new IOException("no " + key + " in the status of thread " + tid);
    }
}
