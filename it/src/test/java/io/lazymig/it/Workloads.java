package io.lazymig.it;

import java.nio.file.Files;
import java.nio.file.Path;

/** The sample workloads built from it/workloads into it/target/workloads (pre-integration-test). */
final class Workloads {
    private Workloads() {
    }

    /** The absolute path of a built workload; fails loudly when it was not built. */
    static String path(String name) {
        String dir = System.getProperty("lazymig.workloads");
        if (dir == null) {
            throw new IllegalStateException("system property lazymig.workloads is not set (run through 'make test')");
        }
        Path p = Path.of(dir, name);
        if (!Files.isExecutable(p)) {
            throw new IllegalStateException("workload " + p + " is not built (make -C it/workloads)");
        }
        return p.toString();
    }
}
