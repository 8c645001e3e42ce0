package io.lazymig.cli;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return new Main(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
    }

    @Test
    void helpListsTheCommands() {
        assertEquals(0, run("--help"));
        assertThat(out.toString(), containsString("check"));
    }

    @Test
    void noArgumentsIsAUsageError() {
        assertEquals(1, run());
        assertThat(err.toString(), startsWith("usage: lazymig"));
    }

    @Test
    void versionComesFromTheBuild() {
        assertEquals(0, run("--version"));
        assertThat(out.toString(), startsWith("lazymig 0."));
    }

    @Test
    void unknownCommandIsOneClearLine() {
        assertEquals(1, run("frobnicate"));
        assertEquals("lazymig: unknown command 'frobnicate'; see 'lazymig --help'\n", err.toString());
    }

    @Test
    void checkRefusesArguments() {
        assertEquals(1, run("check", "--bogus"));
        assertThat(err.toString(), containsString("check takes only --auth-key FILE"));
    }
}
