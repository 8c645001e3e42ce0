package io.lazymig.dump;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A file of /proc as text. Not {@code Files.readString}: that fails on bytes that are not UTF-8,
 * and /proc repeats what processes chose — a thread's name (prctl PR_SET_NAME takes any bytes),
 * a mapped file's path — so one such name failed a whole dump with "Input length = 1". Here they
 * become U+FFFD; the numbers around them parse the same.
 */
final class ProcText {
    private ProcText() {
    }

    static String read(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    }

    static List<String> lines(Path file) throws IOException {
        return read(file).lines().toList();
    }
}
