package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The seed's four commands started in any order, over loopback: D = {@code dump -t PID -D B},
 * S = {@code lazy-pages --lazy-server -D B --port P}, L = {@code lazy-pages --address SOCK -D A
 * --lazy-client 127.0.0.1 --port P}, R = {@code restore --lazy-pages --address SOCK -D A}. A
 * command started before what it needs says it waits (the server for the dump's images, the daemon
 * for its server, restore for its daemon and so its images) and goes on once that is there; the
 * process migrates byte-exact whatever the order.
 */
class StartOrderIT {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"DSLR", "LRDS", "RLSD", "SLRD", "RDLS", "LDSR"})
    @Timeout(180)
    void anyOrder(String order) throws Exception {
        RestoreWorkload w = RestoreWorkload.c(dir, "checksum-loop", "32", "100");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path imagesA = dir.resolve("images-a");
        Path sock = dir.resolve("lazy.sock");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            String sum = null;
            RestoreLauncher.Running daemon = null;
            boolean dumped = false;
            boolean served = false;
            for (char step : order.toCharArray()) {
                switch (step) {
                    case 'D' -> {
                        c.dump(2, false);
                        sum = w.lines().get(0).sum();
                        dumped = true;
                    }
                    case 'S' -> {
                        RestoreLauncher.Running server = c.closeLater(RestoreLauncher.start(dir.resolve("server.log"),
                                "lazy-pages", "--lazy-server", "-D", c.images.toString(), "--port", Integer.toString(port),
                                "--no-auth", "-v", "3"));
                        server.awaitLog(dumped ? "lazy-server: serving" : "waiting for the dump's images");
                        served = true;
                    }
                    case 'L' -> {
                        daemon = c.closeLater(RestoreLauncher.start(dir.resolve("daemon.log"), "lazy-pages", "--address",
                                sock.toString(), "-D", imagesA.toString(), "--lazy-client", "127.0.0.1", "--port",
                                Integer.toString(port), "--no-auth", "-v", "3"));
                        if (!served) {
                            daemon.awaitLog("waiting for the lazy server at");
                        }
                    }
                    case 'R' -> {
                        RestoreLauncher.Running r = c.closeLater(RestoreLauncher.start(dir.resolve("restore.log"), "restore",
                                "-D", imagesA.toString(), "--lazy-pages", "--address", sock.toString(), "-v", "3"));
                        c.restore = r;
                        if (!dumped || !served || daemon == null) {
                            r.awaitLog("waiting for the lazy-pages daemon at " + sock);
                        }
                    }
                    default -> throw new IllegalArgumentException(order);
                }
            }
            c.restore.awaitLog("running after");
            c.awaitRestoredLine();
            assertEquals(0, daemon.awaitExit(), daemon.log());
            c.restore.awaitLog("process " + w.pid + " has all its pages");
            LazyRestoreIT.assertOnlyRightSums(w, sum);
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }
}
