package io.lazymig.dump;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** The "key: value" lines of one /proc/PID/fdinfo/N text, for the readers of the event fds. */
final class FdInfoLines {
    private final String what;
    private final String text;

    /** {@code what} names the fd in errors ("fd 5 (timerfd)"). */
    FdInfoLines(String what, String text) {
        this.what = what;
        this.text = text;
    }

    /** The value after "{@code key}:" on its line, trimmed; an IOException when there is none. */
    String value(String key) throws IOException {
        for (String line : text.split("\n")) {
            if (line.startsWith(key + ":")) {
                return line.substring(key.length() + 1).trim();
            }
        }
        throw error("no \"" + key + ":\" line");
    }

    /** The value after "{@code key}:", or null when the kernel prints none (an older kernel). */
    String valueOrNull(String key) {
        for (String line : text.split("\n")) {
            if (line.startsWith(key + ":")) {
                return line.substring(key.length() + 1).trim();
            }
        }
        return null;
    }

    /** Every line starting with {@code prefix}, in order. */
    List<String> lines(String prefix) {
        List<String> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.startsWith(prefix)) {
                out.add(line);
            }
        }
        return out;
    }

    /** The value of "{@code key}:VALUE" among the space-separated fields of {@code line}. */
    String field(String line, String key) throws IOException {
        String[] f = line.trim().split("\\s+");
        for (int i = 0; i < f.length; i++) {
            if (f[i].equals(key + ":") && i + 1 < f.length) {
                return f[i + 1];
            }
            if (f[i].startsWith(key + ":") && f[i].length() > key.length() + 1) {
                return f[i].substring(key.length() + 1);
            }
        }
        throw error("no " + key + " in \"" + line.trim() + "\"");
    }

    long hex(String value) throws IOException {
        try {
            return Long.parseUnsignedLong(value, 16);
        } catch (NumberFormatException e) {
            throw error("\"" + value + "\" is not hex");
        }
    }

    long decimal(String value) throws IOException {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw error("\"" + value + "\" is not a number");
        }
    }

    IOException error(String problem) {
        return new IOException(what + ": fdinfo " + problem + ": " + text.strip().replace('\n', ';'));
    }
}
