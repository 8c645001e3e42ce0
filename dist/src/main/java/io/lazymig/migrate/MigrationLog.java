package io.lazymig.migrate;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's log of one migration, {@code WORKDIR/ID/migration.log}: one timestamped line per
 * step, also sent to the agent's own log with the migration's id. Any thread.
 */
final class MigrationLog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.agent");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    private final String id;
    private final PrintWriter out;

    MigrationLog(String id, Path file) throws IOException {
        this.id = id;
        this.out = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND), true);
    }

    synchronized void info(String line) {
        out.println(LocalTime.now().format(TIME) + " " + line);
        log.info("agent: {}: {}", id, line);
    }

    synchronized void error(String line) {
        out.println(LocalTime.now().format(TIME) + " error: " + line);
        log.error("agent: {}: {}", id, line);
    }

    @Override
    public synchronized void close() {
        out.close();
    }
}
