package io.lazymig.dump;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * /proc/PID/pagemap: one 64-bit word per virtual page (Documentation/admin-guide/mm/pagemap.rst).
 * Bit 63 present, 62 swapped, 61 file page or shared anonymous, 0-54 the PFN (read as 0 without
 * CAP_SYS_ADMIN). These bits are the proc file's format, not a kernel header constant.
 */
public final class ProcPagemap implements AutoCloseable {
    public static final long PRESENT = 1L << 63;
    public static final long SWAPPED = 1L << 62;
    public static final long FILE_OR_SHARED = 1L << 61;
    public static final long PFN_MASK = (1L << 55) - 1;

    private static final int BATCH_PAGES = 1 << 16;

    private final FileChannel channel;
    private final long pageSize;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(BATCH_PAGES * 8).order(ByteOrder.nativeOrder());

    public ProcPagemap(int pid, long pageSize) throws IOException {
        this.channel = FileChannel.open(Path.of("/proc", Integer.toString(pid), "pagemap"), StandardOpenOption.READ);
        this.pageSize = pageSize;
    }

    /** The entries for the pages of [start, end), both page-aligned. */
    public long[] read(long start, long end) throws IOException {
        int pages = Math.toIntExact((end - start) / pageSize);
        long[] out = new long[pages];
        int done = 0;
        while (done < pages) {
            int n = Math.min(BATCH_PAGES, pages - done);
            buf.clear().limit(n * 8);
            long pos = (start / pageSize + done) * 8;
            while (buf.hasRemaining()) {
                int r = channel.read(buf, pos + buf.position());
                if (r <= 0) {
                    throw new IOException("short read of pagemap at page " + Long.toHexString(start + done * pageSize));
                }
            }
            buf.flip();
            buf.asLongBuffer().get(out, done, n);
            done += n;
        }
        return out;
    }

    public static boolean present(long e) {
        return (e & PRESENT) != 0;
    }

    public static boolean swapped(long e) {
        return (e & SWAPPED) != 0;
    }

    public static boolean fileOrShared(long e) {
        return (e & FILE_OR_SHARED) != 0;
    }

    public static long pfn(long e) {
        return e & PFN_MASK;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
