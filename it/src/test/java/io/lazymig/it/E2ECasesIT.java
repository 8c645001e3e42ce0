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
    private static final Duration CASE = Duration.ofSeconds(180);

    private static void run(String name) throws Exception {
        E2EDriver.runCase(name, CASE, E2EDriver.TEST_ENV);
    }

    @Test
    @Timeout(300)
    void staticBinary() throws Exception {
        run("static");
    }

    @Test
    @Timeout(300)
    void dynamicBinary() throws Exception {
        run("dynamic");
    }

    @Test
    @Timeout(300)
    void python() throws Exception {
        run("python");
    }

    @Test
    @Timeout(360)
    void oneGibibyte() throws Exception {
        Map<String, String> env = new HashMap<>(E2EDriver.TEST_ENV);
        env.put("E2E_BIG_MIB", "1024");
        E2EDriver.runCase("big", Duration.ofSeconds(300), env);
    }

    @Test
    @Timeout(300)
    void forkMremapMadviseMunmapWhilePagesAreLazy() throws Exception {
        run("churn");
    }

    @Test
    @Timeout(300)
    void oneServerThreeRestoresAtOnce() throws Exception {
        run("three");
    }

    @Test
    @Timeout(300)
    void daemonKilledMidTransferAndANewOneTakesOver() throws Exception {
        run("daemon-kill");
    }

    @Test
    @Timeout(300)
    void serverRestartedMidTransfer() throws Exception {
        run("server-restart");
    }

    @Test
    @Timeout(300)
    void wrongKeyIsRefusedOnBothSides() throws Exception {
        run("wrong-key");
    }
}
