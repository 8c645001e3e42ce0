package io.lazymig.images;

import com.google.protobuf.MessageLite;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Writes one protobuf image: the magic words, then {@code [u32 LE size][protobuf]} per entry.
 * The bytes go to a temporary file in the same directory that {@link #commit()} renames into place,
 * so a reader never sees a half-written image; {@link #close()} without commit discards it. Or, made
 * by {@link #toMemory}, the bytes go into a map by file name at commit (no file at all).
 */
public final class ImageWriter implements Closeable {
    private final Path target;
    private final Path temp;
    private final OutputStream out;
    /** The map a memory image goes into at commit (null: a file). */
    private final Map<String, byte[]> memory;
    private boolean done;

    private ImageWriter(Path target, Path temp, OutputStream out, Map<String, byte[]> memory) {
        this.target = target;
        this.temp = temp;
        this.out = out;
        this.memory = memory;
    }

    public static ImageWriter create(Path file, ImageType type) throws IOException {
        if (type.isRaw()) {
            throw new IllegalArgumentException(type + " is a raw image, not a protobuf one");
        }
        Path dir = file.toAbsolutePath().getParent();
        Path temp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        ImageWriter writer = new ImageWriter(file, temp, new BufferedOutputStream(Files.newOutputStream(temp), 64 * 1024),
                null);
        return writer.begin(type);
    }

    /**
     * An image kept in memory: at commit its bytes are put into {@code into} under {@code file}'s
     * name (nothing is created on disk; {@code file} names it in errors).
     */
    public static ImageWriter toMemory(Path file, ImageType type, Map<String, byte[]> into) {
        if (type.isRaw()) {
            throw new IllegalArgumentException(type + " is a raw image, not a protobuf one");
        }
        try {
            return new ImageWriter(file, null, new ByteArrayOutputStream(256), into).begin(type);
        } catch (IOException e) {
            throw new IllegalStateException("writing to memory failed", e); // a ByteArrayOutputStream does not fail
        }
    }

    private ImageWriter begin(ImageType type) throws IOException {
        try {
            if (type.hasCommonMagic()) {
                writeU32(Magic.IMG_COMMON);
            }
            writeU32(type.magic());
            return this;
        } catch (IOException e) {
            close();
            throw e;
        }
    }

    /** Appends one entry. Every required field must be set (protobuf-java checks it). */
    public void write(MessageLite entry) throws IOException {
        writeEncoded(entry.toByteArray());
    }

    /** Appends one entry given as its protobuf bytes (encoded by the caller, e.g. CoreCodec's spliced cores). */
    void writeEncoded(byte[] bytes) throws IOException {
        if (bytes.length > ImageReader.MAX_ENTRY_SIZE) {
            throw new ImageException(target.getFileName() + ": entry of " + bytes.length + " bytes beyond the "
                    + (ImageReader.MAX_ENTRY_SIZE >> 20) + " MiB bound");
        }
        try {
            writeU32(bytes.length);
            out.write(bytes);
        } catch (IOException e) {
            throw cannotWrite(e);
        }
    }

    /** Appends raw bytes after the last entry (pipes-data.img's data). */
    public void writeBlob(byte[] bytes) throws IOException {
        try {
            out.write(bytes);
        } catch (IOException e) {
            throw cannotWrite(e);
        }
    }

    private void writeU32(int v) throws IOException {
        out.write(v);
        out.write(v >>> 8);
        out.write(v >>> 16);
        out.write(v >>> 24);
    }

    /** Flushes and moves the image into place, replacing any old one. */
    public void commit() throws IOException {
        try {
            out.close();
        } catch (IOException e) {
            throw cannotWrite(e);
        }
        if (memory != null) {
            memory.put(target.getFileName().toString(), ((ByteArrayOutputStream) out).toByteArray());
        } else {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        done = true;
    }

    /** A write error names the image (the stream's own says only "No space left on device"). */
    private IOException cannotWrite(IOException e) {
        return new IOException("cannot write " + target + ": " + e.getMessage(), e);
    }

    @Override
    public void close() throws IOException {
        if (!done) {
            done = true;
            try {
                out.close();
            } finally {
                if (temp != null) {
                    Files.deleteIfExists(temp);
                }
            }
        }
    }
}
