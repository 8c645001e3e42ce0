package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The logs of a tree workload whose processes each print to {@code ROLE.log} in one directory:
 * their lines parsed, the last of each role, and a wait until every role has gone on.
 */
final class RoleLogs<L> {
    private final Path dir;
    private final List<String> roles;
    private final Pattern line;
    private final Function<Matcher, L> parse;
    private final ToLongFunction<L> counter;
    private final long patienceMs;

    RoleLogs(Path dir, List<String> roles, Pattern line, Function<Matcher, L> parse, ToLongFunction<L> counter,
            long patienceMs) {
        this.dir = dir;
        this.roles = roles;
        this.line = line;
        this.parse = parse;
        this.counter = counter;
        this.patienceMs = patienceMs;
    }

    /** The lines of {@code role} that match, in order; none before its log exists. */
    List<L> lines(String role) throws IOException {
        List<L> lines = new ArrayList<>();
        List<String> text;
        try {
            text = Files.readAllLines(dir.resolve(role + ".log"));
        } catch (NoSuchFileException e) {
            return lines;
        }
        for (String s : text) {
            Matcher m = line.matcher(s);
            if (m.matches()) {
                lines.add(parse.apply(m));
            }
        }
        return lines;
    }

    /** The last line of each role that has one. */
    Map<String, L> last() throws IOException {
        Map<String, L> last = new LinkedHashMap<>();
        for (String role : roles) {
            List<L> lines = lines(role);
            if (!lines.isEmpty()) {
                last.put(role, lines.get(lines.size() - 1));
            }
        }
        return last;
    }

    /**
     * Waits until every role has printed a line past its line in {@code past} (past counter
     * {@code otherwise} for a role without one); returns those lines.
     */
    Map<String, L> awaitAllPast(Map<String, L> past, long otherwise) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(patienceMs);
        while (true) {
            Map<String, L> last = last();
            boolean all = true;
            for (String role : roles) {
                L l = last.get(role);
                long floor = past.containsKey(role) ? counter.applyAsLong(past.get(role)) : otherwise;
                all &= l != null && counter.applyAsLong(l) > floor;
            }
            if (all) {
                return last;
            }
            if (System.nanoTime() > end) {
                fail("not every process of the tree printed past " + past + ": " + last);
            }
            Thread.sleep(20);
        }
    }
}
