package io.lazymig.cli;

import io.lazymig.migrate.QuietThreads;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.PrintStream;

/**
 * Sets up SLF4J's simple logger from CRIU-style options before the first logger exists:
 * {@code -v N} (0 errors only ... 4 debug; default 2 = warnings) and {@code -o FILE}.
 */
final class Logging {
    private Logging() {
    }

    static void configure(int verbosity, String logFile) {
        String level = switch (Math.max(0, Math.min(verbosity, 4))) {
            case 0, 1 -> "error";
            case 2 -> "warn";
            case 3 -> "info";
            default -> "debug";
        };
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
        if (verbosity == 2) {
            // the agent's audit lines (each migration's peer and outcome) are shown from the default on
            System.setProperty("org.slf4j.simpleLogger.log." + io.lazymig.migrate.Agent.AUDIT_LOG, "info");
        }
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.showShortLogName", "true");
        // Always System.err, looked up at each line: QuietThreads filters it (and -o points it at the file).
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        PrintStream target = System.err;
        if (logFile != null) {
            try {
                target = new PrintStream(new FileOutputStream(logFile), true);
            } catch (FileNotFoundException e) {
                System.err.println("lazymig: cannot write the log file " + logFile + " (" + e.getMessage() + "); logging to stderr");
            }
        }
        QuietThreads.install(target);
    }
}
