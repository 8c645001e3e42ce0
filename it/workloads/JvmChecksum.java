import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.nio.charset.StandardCharsets;
import java.lang.management.ManagementFactory;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * JvmChecksum: a JVM workload for migration tests. It fills a long[] of MIB MiB on the heap once
 * (xorshift, deterministic), then a pool of WORKERS threads each checksums its own slice every
 * INTERVAL ms and prints
 *
 *   pid P counter N sum HEX worker W gc G alloc A
 *
 * where N counts that worker's rounds from 0, sum is the FNV-1a hash of the slice (the same every round, and the same before and after a
 * migration), G the collections the JVM has made so far (every collector) and A the MiB this worker
 * has allocated so far: each round allocates short-lived garbage (ALLOC_KIB KiB, kept in a small
 * ring so some of it survives a young collection), so the collector keeps running after restore.
 * The main thread prints "pid P filled MIB MiB sum HEX" (the hash of the whole array) once, then
 * waits for the pool. A slice whose sum changes prints "MISMATCH ..." and the process exits 2.
 *
 * usage: java JvmChecksum MIB WORKERS INTERVAL_MS [ALLOC_KIB]
 */
public final class JvmChecksum {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;
    /** stdout without System.out's 128-byte buffer: each line is one write(2), never split by a dump. */
    private static final FileOutputStream OUT = new FileOutputStream(FileDescriptor.out);

    private static synchronized void emit(String format, Object... args) {
        try {
            OUT.write(String.format(format, args).getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            System.exit(3);
        }
    }

    public static void main(String[] args) throws Exception {
        int mib = Integer.parseInt(args[0]);
        int workers = Integer.parseInt(args[1]);
        long interval = Long.parseLong(args[2]);
        int allocKib = args.length > 3 ? Integer.parseInt(args[3]) : 1024;
        long pid = ProcessHandle.current().pid();

        long[] data = new long[mib * (1 << 20) / 8];
        long x = 0x9e3779b97f4a7c15L;
        for (int i = 0; i < data.length; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            data[i] = x;
        }
        emit("pid %d filled %d MiB sum %016x%n", pid, mib, fnv(data, 0, data.length));

        ExecutorService pool = Executors.newFixedThreadPool(workers);
        int slice = data.length / workers;
        for (int w = 0; w < workers; w++) {
            int id = w;
            int from = w * slice;
            int to = w == workers - 1 ? data.length : from + slice;
            pool.execute(() -> work(pid, id, data, from, to, interval, allocKib));
        }
        pool.shutdown();
        while (!pool.awaitTermination(1, TimeUnit.HOURS)) {
            // runs until killed
        }
    }

    private static void work(long pid, int id, long[] data, int from, int to, long interval, int allocKib) {
        long first = fnv(data, from, to);
        ArrayDeque<byte[]> ring = new ArrayDeque<>();
        long allocated = 0;
        for (long round = 0;; round++) {
            long sum = fnv(data, from, to);
            if (sum != first) {
                emit("MISMATCH pid %d worker %d round %d sum %016x expected %016x%n", pid, id, round, sum, first);
                System.exit(2);
            }
            for (int k = 0; k < allocKib / 64; k++) {
                byte[] b = new byte[64 << 10];
                b[(int) (round % b.length)] = (byte) round;
                ring.addLast(b);
                if (ring.size() > 8) {
                    ring.removeFirst();
                }
                allocated += b.length;
            }
            emit("pid %d counter %d sum %016x worker %d gc %d alloc %d%n", pid, round, sum, id, collections(),
                    allocated >> 20);
            try {
                Thread.sleep(interval);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static long fnv(long[] data, int from, int to) {
        long h = FNV_OFFSET;
        for (int i = from; i < to; i++) {
            h ^= data[i];
            h *= FNV_PRIME;
        }
        return h;
    }

    private static long collections() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }
}
