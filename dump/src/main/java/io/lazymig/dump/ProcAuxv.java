package io.lazymig.dump;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** /proc/PID/auxv as the raw (key, value) words PR_SET_MM_MAP takes back, AT_NULL pair included. */
public final class ProcAuxv {
    /** A sane bound: the kernel keeps at most AT_VECTOR_SIZE words (52 on x86_64). */
    static final int MAX_WORDS = 128;

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
        for (int i = 0; i < words.length; i++) {
            words[i] = b.getLong();
        }
        return words;
    }
}
