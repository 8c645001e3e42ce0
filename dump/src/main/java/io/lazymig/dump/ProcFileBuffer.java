package io.lazymig.dump;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Small /proc files read into one buffer reused file to file, by the one thread that owns it: a
 * file a thread inside the freeze (status, stat of 100 threads). ProcText.read (Files.readAllBytes:
 * a Path, a channel, a fresh array) cost 50-80 us a file in a young JVM there, this 20-30.
 */
final class ProcFileBuffer {
    private byte[] buf = new byte[4096];
    private int length;

    /** Reads {@code file} whole (growing the buffer as needed); FileNotFoundException when it is gone. */
    ProcFileBuffer read(String file) throws IOException {
        try (FileInputStream in = new FileInputStream(file)) {
            int n = 0;
            while (true) {
                if (n == buf.length) {
                    buf = Arrays.copyOf(buf, buf.length * 2);
                }
                int r = in.read(buf, n, buf.length - n);
                if (r < 0) {
                    length = n;
                    return this;
                }
                n += r;
            }
        }
    }

    /** The file as text, like ProcText (bytes that are not UTF-8 become U+FFFD). */
    String text() {
        return new String(buf, 0, length, StandardCharsets.UTF_8);
    }

    /** The file a byte a char: a plain copy, for files searched for ASCII fields. */
    String latin1() {
        return new String(buf, 0, length, StandardCharsets.ISO_8859_1);
    }

    /** Bytes {@code from} to {@code to} of the file as UTF-8 (a name inside a {@link #latin1} text). */
    String utf8(int from, int to) {
        return new String(buf, from, to - from, StandardCharsets.UTF_8);
    }
}
