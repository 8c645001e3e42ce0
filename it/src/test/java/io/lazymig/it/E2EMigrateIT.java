package io.lazymig.it;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code lazymig migrate} on host B (lm-src) to {@code lazymig agent} on host A (lm-dst), the
 * migrate-* cases of it/e2e/e2e.sh: static, dynamic, Python, event-loop and JVM workloads byte-exact (the
 * checksum each computes before and after); servers with their sockets (an --ip-map); a wrong key and an absent agent fail before any freeze, the
 * process untouched; the agent killed once the process runs on A leaves it blocked on its missing
 * pages (never on zero pages) until its guard kills it at the deadline, and the source resumes.
 */
class E2EMigrateIT {
    private static final Duration CASE = Duration.ofSeconds(180);

    private static void run(String name) throws Exception {
        E2EDriver.runCase(name, CASE, E2EDriver.TEST_ENV);
    }

    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void staticBinary() throws Exception {
        run("migrate-static");
    }

    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void dynamicBinary() throws Exception {
        run("migrate-dynamic");
    }

    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void python() throws Exception {
        run("migrate-python");
    }

    /** restore-threads8: 8 threads and 6 timers; every thread and timer works on on A. */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void threads() throws Exception {
        run("migrate-threads");
    }

    /** python3 with 4 threading.Threads whose chains main checks: every thread works on on A. */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void pythonThreads() throws Exception {
        run("migrate-python-threads");
    }

    /**
     * restore-eventfds: an event loop (epoll over an eventfd, a timerfd, a signalfd, an inotify watch)
     * goes on on A, and a signal and a new file sent there arrive through it.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void eventFds() throws Exception {
        run("migrate-eventfds");
    }

    /**
     * A JVM with a pool of 4 workers (default collector): every worker goes on on A from its own
     * round with its own checksum, the collector runs there, and the perf-data file is mapped shared.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void jvm() throws Exception {
        run("migrate-jvm");
    }

    /**
     * restore-tree: a session leader, three children (a group leader with a grandchild, one in a
     * session of its own) and a zombie, migrated lazily as one tree: every process on A with its pid,
     * group and session, every memory check ok, nothing of the shared stdout overwritten, the zombie back.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void tree() throws Exception {
        run("migrate-tree");
    }

    /**
     * A parent and a child sharing MAP_SHARED anonymous memory and memfds (it/workloads/shared-memory.c)
     * migrated lazily between the namespace hosts: the shared objects eager, once each; on A both
     * processes map one object each again and see each other's new counters, every checksum equal.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void sharedMemory() throws Exception {
        run("migrate-shmem");
    }

    /**
     * sh -c 'produce | filter | consume -' (it/workloads/pipeline-stage.c) migrated lazily: sh and its
     * three stages on A with their pids, the two pipes between them with their bytes in flight, the
     * consumer checking every record once and in order on A.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void pipeline() throws Exception {
        run("migrate-pipeline");
    }

    /** node running a setInterval checksum (it/workloads/node_checksum.js): its output goes on on A, the sum equal. */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void node() throws Exception {
        run("migrate-node");
    }

    /**
     * A parent and its child holding one end each of a unix socketpair, data queued both ways
     * (it/e2e/e2e-socketpair.py): one pair on A, both queues received there, a reply across.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void socketpairSplitAcrossTheTree() throws Exception {
        run("migrate-socketpair");
    }

    /**
     * restore-sockets, its IPv4 listener on B's address moved to A's by the agent's --ip-map: it
     * answers B's client there, its own connection comes back closed, the summary counts 2.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void sockets() throws Exception {
        run("migrate-sockets");
    }

    /** python3's http.server moved from B's address to A's by --ip-map serves a file byte for byte. */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void httpServer() throws Exception {
        run("migrate-http");
    }

    /**
     * redis-server (an epoll over its listener) bound to B's address, moved to A's by --ip-map: the
     * keys SET on B over TCP are read back with GET at A's address.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void redis() throws Exception {
        run("migrate-redis");
    }

    /**
     * redis-server under a small load (it/e2e/e2e-redis-load.py: SET/GET 1 ms apart before, during
     * and after migrate, reconnecting on error to B's or A's address): every write redis
     * acknowledged, on B or on A, reads back at A's address.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void redisUnderLoadLosesNoAcknowledgedWrite() throws Exception {
        run("migrate-redis-load");
    }

    /**
     * A node http.createServer of its own (it/e2e/e2e-node-http.js) moved from B's address to A's:
     * its request counter goes on there and its 16 MiB buffer's checksum is the one B answered.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void nodeHttpServer() throws Exception {
        run("migrate-node-http");
    }

    /**
     * nginx, a master and 2 workers sharing a MAP_SHARED anonymous zone, with socketpairs between
     * them: on A with their pids, serving a file byte for byte at A's address.
     */
    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void nginxMasterAndWorkersServeOnA() throws Exception {
        run("migrate-nginx");
    }

    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void wrongKeyIsRefusedBeforeAnyFreeze() throws Exception {
        run("migrate-wrong-key");
    }

    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void noAgentFailsBeforeAnyFreeze() throws Exception {
        run("migrate-no-agent");
    }

    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void agentDiskFullFailsWithOneLineAndTheSourceRunsOn() throws Exception {
        run("migrate-disk-full");
    }

    @Test
    @Timeout(E2ECasesIT.LIMIT)
    void agentKilledMidMigrationLeavesNoProcessOnZeroPages() throws Exception {
        run("migrate-agent-kill");
    }
}
