package io.lazymig.migrate;

import io.lazymig.protocol.Errors;
import io.lazymig.protocol.ProtocolException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;

/**
 * The agent's side of the images B sends: each FILE frame (u16 name length, name, u64 offset,
 * data) checked and written at its offset into the migration's image directory. Bounded: names
 * are plain image names (no path), at most {@value #MAX_FILES} files, and the images together (the
 * sum of each file's furthest byte, so a far offset counts whole) at most the agent's limit.
 *
 * <p>The protobuf images that come whole in one frame are held in memory (up to
 * {@value #HELD_LIMIT} bytes in all) rather than written at once: the agent reads the checkpoint
 * from them, and {@link #writeHeld} writes their files beside the restore. A process with 100
 * threads sends 110 images, and creating their files one by one as they came kept B's sending
 * and A's restore waiting 10-20 ms. The pages files, and any image that comes in parts, are
 * written as they come.
 */
public final class ImageReceiver {
    private static final Pattern IMAGE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\.img");
    public static final int MAX_FILES = 4096;
    /** The most bytes of images held in memory; the images after go to their files at once. */
    static final long HELD_LIMIT = 64L << 20;
    private static final Pattern PAGES_NAME = Pattern.compile("pages-[0-9]+\\.img");

    private final Path dir;
    private final long maxBytes;
    private final String peer;
    private final Map<String, Long> ends = new HashMap<>();
    private long total;
    private long received;
    /** The images held, by name, in arrival order; and their bytes in all. */
    private final Map<String, byte[]> held = new LinkedHashMap<>();
    private long heldBytes;

    /** Told of each image held whole, as it comes (e.g. to parse it meanwhile). */
    private final BiConsumer<String, byte[]> onHeld;

    public ImageReceiver(Path dir, long maxBytes, String peer) {
        this(dir, maxBytes, peer, (name, bytes) -> { });
    }

    /** As the other, {@code onHeld} told of each image held whole (its bytes are not changed afterwards). */
    public ImageReceiver(Path dir, long maxBytes, String peer, BiConsumer<String, byte[]> onHeld) {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.peer = peer;
        this.onHeld = onHeld;
    }

    /** Writes one FILE frame's payload; returns its data bytes. */
    public long write(ByteBuffer p) throws IOException {
        if (p.remaining() < 2) {
            throw new ProtocolException(peer + " sent a malformed file frame");
        }
        int n = p.getShort() & 0xffff;
        if (n > p.remaining() - 8) {
            throw new ProtocolException(peer + " sent a malformed file frame");
        }
        byte[] nameBytes = new byte[n];
        p.get(nameBytes);
        String name = new String(nameBytes, StandardCharsets.UTF_8);
        if (!IMAGE_NAME.matcher(name).matches()) {
            throw new ProtocolException(peer + " sent an image named '" + Errors.printable(name) + "': refused");
        }
        long offset = p.getLong();
        long len = p.remaining();
        if (offset < 0 || offset > maxBytes - len) {
            throw new ProtocolException(peer + " sent " + name + " at offset " + offset + ": beyond the agent's "
                    + maxBytes + "-byte bound on images");
        }
        long end = offset + len;
        Long before = ends.get(name);
        if (before == null && ends.size() >= MAX_FILES) {
            throw new ProtocolException(peer + " sent more than " + MAX_FILES + " images");
        }
        if (before == null || end > before) {
            long grown = total + end - (before == null ? 0 : before);
            if (grown > maxBytes) {
                throw new ProtocolException(peer + " sent more than " + maxBytes + " bytes of images, the agent's bound "
                        + "(--max-image-size)");
            }
            total = grown;
            ends.put(name, end);
        }
        byte[] part = held.remove(name);
        if (part != null) { // a second part: the image is written as it comes, from its first
            heldBytes -= part.length;
            writeFile(name, 0, ByteBuffer.wrap(part));
        } else if (before == null && offset == 0 && !PAGES_NAME.matcher(name).matches() && heldBytes + len <= HELD_LIMIT) {
            byte[] bytes = new byte[(int) len];
            p.get(bytes);
            held.put(name, bytes);
            heldBytes += len;
            received += len;
            onHeld.accept(name, bytes);
            return len;
        }
        writeFile(name, offset, p);
        received += len;
        return len;
    }

    private void writeFile(String name, long offset, ByteBuffer p) throws IOException {
        try (FileChannel out = FileChannel.open(dir.resolve(name), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            long at = offset;
            while (p.hasRemaining()) {
                at += out.write(p, at);
            }
        } catch (IOException e) { // a full disk: the channel's own message names no file, and migrate shows this one
            throw new IOException("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }

    /**
     * The images held in memory, by file name (see {@link io.lazymig.images.ImageDir#withMemory}).
     * Not to be modified; the receiver must not be written to any more.
     */
    public Map<String, byte[]> held() {
        return Collections.unmodifiableMap(held);
    }

    /**
     * Writes the images held in memory into their files (a daemon that takes the process over reads
     * them there). Once every frame is in; may run on another thread than the frames came on.
     */
    public void writeHeld() throws IOException {
        for (Map.Entry<String, byte[]> e : held.entrySet()) {
            writeFile(e.getKey(), 0, ByteBuffer.wrap(e.getValue()));
        }
    }

    /** Data bytes written so far. */
    public long received() {
        return received;
    }
}
