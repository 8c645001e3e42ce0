package io.lazymig.dump;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * /proc/PID/auxv as the (key, value) words PR_SET_MM_MAP takes back, up to and without the AT_NULL
 * pair: CRIU's mm_saved_auxv holds them so (checked against CRIU 4.1.1), and the kernel zero-fills
 * what PR_SET_MM_MAP does not pass, so the terminator is implied.
 */
public final class ProcAuxv {
    /** A sane bound: the kernel keeps at most AT_VECTOR_SIZE words (52 on x86_64). */
    static final int MAX_WORDS = 128;
    /** The auxv terminator key (the ELF ABI's value, as /proc/PID/auxv shows it). */
    static final long AT_NULL = 0;

    private ProcAuxv() {
    }

    public static long[] read(int pid) throws IOException {
        return parse(Files.readAllBytes(Path.of("/proc", Integer.toString(pid), "auxv")));
    }

    static long[] parse(byte[] raw) throws IOException {
        if (raw.length % 16 != 0 || raw.length / 8 > MAX_WORDS) {
            throw new IOException("unexpected /proc/PID/auxv size " + raw.length);
        }
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder());
        long[] words = new long[raw.length / 8];
        int n = 0;
        while (n < words.length) {
            long key = b.getLong();
            long value = b.getLong();
            if (key == AT_NULL) {
                break;
            }
            words[n++] = key;
            words[n++] = value;
        }
        return Arrays.copyOf(words, n);
    }
}
