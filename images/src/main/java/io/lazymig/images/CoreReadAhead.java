package io.lazymig.images;

import io.lazymig.images.proto.core_entry;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Core images parsed on a thread of their own as they arrive, while the rest of the images are still
 * coming: parsing and checking a process's cores was most of reading its checkpoint (a process with
 * 100 threads: 100 of them, ~700 XSAVE words each), which otherwise starts only once the last image
 * is in. {@link ImageDir#readCore} takes an entry from here only when it was parsed from the very
 * bytes the directory holds for that image; anything else (an image that failed here, one not yet
 * parsed when the read began, one replaced since) it reads itself, with its usual errors.
 */
public final class CoreReadAhead implements AutoCloseable {
    private static final Pattern CORE = Pattern.compile("core-([0-9]{1,9})\\.img");

    private record Parsed(byte[] bytes, core_entry entry) {
    }

    private final Path dir;
    private final Map<String, Parsed> parsed = new ConcurrentHashMap<>();
    private final ExecutorService worker;

    /** Read-ahead for the images of {@code dir} (only named in errors: the bytes come from {@link #offer}). */
    public CoreReadAhead(Path dir) {
        this(dir, () -> { });
    }

    /**
     * As the other, {@code threadSetup} run first on the read-ahead's thread: e.g. to put it under
     * SCHED_IDLE, where the parse takes only what the receive (and, on one host, the sender) leaves.
     */
    public CoreReadAhead(Path dir, Runnable threadSetup) {
        this.dir = dir;
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(() -> {
                threadSetup.run();
                r.run();
            }, "core read-ahead");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * An image that came whole, by file name: parsed later on the read-ahead's thread when it is a
     * core image, else ignored. {@code bytes} must not change afterwards.
     */
    public void offer(String name, byte[] bytes) {
        Matcher m = CORE.matcher(name);
        if (!m.matches()) {
            return;
        }
        int tid = Integer.parseInt(m.group(1));
        try {
            worker.execute(() -> {
                try {
                    parsed.put(name, new Parsed(bytes, ImageDir.withMemory(dir, Map.of(name, bytes)).readCore(tid)));
                } catch (ImageException | RuntimeException e) {
                    // the checkpoint's read reads this image again and reports what is wrong with it
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed: the read parses it
        }
    }

    /** The entry parsed from exactly {@code bytes} for image {@code name}, or null. */
    core_entry take(String name, byte[] bytes) {
        Parsed p = parsed.get(name);
        return p != null && p.bytes() == bytes ? p.entry() : null;
    }

    /** How many core images were parsed ahead so far (for the debug log). */
    public int parsed() {
        return parsed.size();
    }

    /** No more parsing: the cores still queued are left to the read (the one being parsed finishes). */
    @Override
    public void close() {
        worker.shutdownNow();
    }
}
