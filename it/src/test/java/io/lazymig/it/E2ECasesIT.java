package io.lazymig.it;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The two-host cases of 'make e2e' (it/e2e/e2e.sh), one test each: a workload dumped in lm-src and
 * restored lazily in lm-dst, network namespaces with pid and mount namespaces of their own, with
 * the operator's command lines; the counter goes on and the checksum is the one printed before the
 * dump. Smaller workloads than make e2e's (E2EDriver.TEST_ENV), but the 1 GiB case is 1 GiB.
 * ('dump --lazy-pages --port' is not implemented yet: make e2e prints a FIXME for it.)
 */
class E2ECasesIT {
    /** Per case, from the moment the driver has the namespace hosts. */
    private static final Duration CASE = Duration.ofSeconds(180);
    /** Per test: the case, and up to 15 min waiting while another run (make e2e, make bench) holds the hosts. */
    static final int LIMIT = 1200;

    private static void run(String name) throws Exception {
        E2EDriver.runCase(name, CASE, E2EDriver.TEST_ENV);
    }

    @Test
    @Timeout(LIMIT)
    void staticBinary() throws Exception {
        run("static");
    }

    @Test
    @Timeout(LIMIT)
    void dynamicBinary() throws Exception {
        run("dynamic");
    }

    @Test
    @Timeout(LIMIT)
    void python() throws Exception {
        run("python");
    }

    @Test
    @Timeout(LIMIT)
    void oneGibibyte() throws Exception {
        Map<String, String> env = new HashMap<>(E2EDriver.TEST_ENV);
        env.put("E2E_BIG_MIB", "1024");
        E2EDriver.runCase("big", Duration.ofSeconds(300), env);
    }

    @Test
    @Timeout(LIMIT)
    void forkMremapMadviseMunmapWhilePagesAreLazy() throws Exception {
        run("churn");
    }

    /**
     * dump and restore --tcp-established with a floating address: a client in a third namespace
     * (lm-cli) keeps its one connection while the server moves from B to A with the address; every
     * record once and in order both ways.
     */
    @Test
    @Timeout(LIMIT)
    void tcpConnectionCarriedAliveWithItsFloatingAddress() throws Exception {
        run("tcp-established");
    }

    /** The same with migrate --tcp-established and the agent. */
    @Test
    @Timeout(LIMIT)
    void tcpConnectionCarriedAliveByMigrate() throws Exception {
        run("migrate-tcp-established");
    }

    @Test
    @Timeout(LIMIT)
    void dumpLazyPagesServesTheFrozenSource() throws Exception {
        run("dump-lazy");
    }

    @Test
    @Timeout(LIMIT)
    void oneServerThreeRestoresAtOnce() throws Exception {
        run("three");
    }

    @Test
    @Timeout(LIMIT)
    void daemonKilledMidTransferAndANewOneTakesOver() throws Exception {
        run("daemon-kill");
    }

    @Test
    @Timeout(LIMIT)
    void serverRestartedMidTransfer() throws Exception {
        run("server-restart");
    }

    /** The lazy server killed for good: the daemon gives up with one line, restore kills the process at its deadline. */
    @Test
    @Timeout(LIMIT)
    void serverGoneForGoodEndsWithTheProcessKilled() throws Exception {
        run("server-gone");
    }

    @Test
    @Timeout(LIMIT)
    void wrongKeyIsRefusedOnBothSides() throws Exception {
        run("wrong-key");
    }

    /** The 60 s the issue asks for are real: the case takes about two minutes. */
    @Test
    @Timeout(LIMIT)
    void linkCutFor60SecondsMidTransfer() throws Exception {
        E2EDriver.runCase("link-cut", Duration.ofSeconds(400), E2EDriver.TEST_ENV);
    }

    /** The short cut the seed already survived, kept so: 10 s down mid-transfer. */
    @Test
    @Timeout(LIMIT)
    void linkCutFor10SecondsMidTransfer() throws Exception {
        Map<String, String> env = new HashMap<>(E2EDriver.TEST_ENV);
        env.put("E2E_CUT_SECONDS", "10");
        E2EDriver.runCase("link-cut", Duration.ofSeconds(300), env);
    }

    @Test
    @Timeout(LIMIT)
    void dumpDirectoryFullOnTheSourceLeavesTheProcessRunning() throws Exception {
        run("disk-full-b");
    }

    @Test
    @Timeout(LIMIT)
    void imageDirectoryFullOnTheDestinationLeavesNothingRunning() throws Exception {
        run("disk-full-a");
    }

    @Test
    @Timeout(LIMIT)
    void restoreKilledAtEveryPhaseLeavesNothingHalfRestored() throws Exception {
        run("restore-kill");
    }

    @Test
    @Timeout(LIMIT)
    void oneServerSixteenRestoresAtOnce() throws Exception {
        E2EDriver.runCase("sixteen", Duration.ofSeconds(400), E2EDriver.TEST_ENV);
    }
}
