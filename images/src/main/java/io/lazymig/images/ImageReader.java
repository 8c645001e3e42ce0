package io.lazymig.images;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Reads one protobuf image entry by entry: checks the magic words, then reads
 * {@code [u32 LE size][size bytes of protobuf]} records up to end of file (CRIU-FACTS §4.1).
 * Every length is checked against {@link #MAX_ENTRY_SIZE} and against the bytes left in the file
 * before anything is allocated, so a corrupt size can never make us allocate more than the file holds.
 */
public final class ImageReader implements Closeable {
    /** The largest protobuf entry we accept (CRIU has no such limit; ours keeps a corrupt length harmless). */
    public static final int MAX_ENTRY_SIZE = 16 << 20;
    /** The largest protobuf image file we accept (pages-N.img is raw and not read through here). */
    public static final long MAX_FILE_SIZE = 64L << 20;
    /** The most entries we read from one image, which bounds the objects a small-entry flood can create. */
    public static final int MAX_ENTRIES = 4 << 20;

    private final String name;
    private final InputStream in;
    private long left;
    private int entries;

    private ImageReader(String name, InputStream in, long size) {
        this.name = name;
        this.in = in;
        this.left = size;
    }

    /** Opens {@code file}, checks that it is an image of {@code type}, and positions at the first entry. */
    public static ImageReader open(Path file, ImageType type) throws ImageException {
        if (type.isRaw()) {
            throw new IllegalArgumentException(type + " is a raw image, not a protobuf one");
        }
        String name = String.valueOf(file.getFileName());
        long size;
        InputStream in;
        try {
            size = checkRegularFile(file, name);
            // a buffer no larger than the file: a core image is ~4 KiB, and a 64 KiB one each (zeroed)
            // showed in the profile of reading a checkpoint of 100 threads
            in = new BufferedInputStream(Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS),
                    (int) Math.max(512, Math.min(size, 64 * 1024)));
        } catch (NoSuchFileException e) {
            throw new ImageException(name + ": missing in " + file.toAbsolutePath().getParent(), e);
        } catch (ImageException e) {
            throw e;
        } catch (IOException e) {
            throw new ImageException(name + ": cannot open: " + e, e);
        }
        return new ImageReader(name, in, size).begin(type);
    }

    /**
     * Reads image {@code name} of {@code type} from {@code bytes} (an image held in memory, see
     * {@link ImageDir#withMemory}) with every check {@link #open} makes.
     */
    public static ImageReader of(String name, byte[] bytes, ImageType type) throws ImageException {
        if (type.isRaw()) {
            throw new IllegalArgumentException(type + " is a raw image, not a protobuf one");
        }
        return new ImageReader(name, new ByteArrayInputStream(bytes), bytes.length).begin(type);
    }

    /** Checks the size and the magic words; closes the reader when they are wrong. */
    private ImageReader begin(ImageType type) throws ImageException {
        ImageReader reader = this;
        long size = left;
        try {
            if (size > MAX_FILE_SIZE) {
                throw new ImageException(name + ": " + size + " bytes, beyond the " + (MAX_FILE_SIZE >> 20)
                        + " MiB bound for protobuf images");
            }
            if (type.hasCommonMagic()) {
                reader.expectMagic(Magic.IMG_COMMON, "common magic");
            }
            reader.expectMagic(type.magic(), "magic");
            return reader;
        } catch (ImageException e) {
            reader.close();
            throw e;
        }
    }

    /**
     * Images must be regular files inside the directory: not a FIFO or device (reading could block or
     * never end) and not a symbolic link (which could make us read, or serve, a file outside it).
     * Returns the file's size. One lstat: a checkpoint of 100 threads opens 100 core images, and
     * four stat calls each showed in reading it.
     */
    static long checkRegularFile(Path file, String name) throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (a.isSymbolicLink()) {
            throw new ImageException(name + ": a symbolic link; images must be regular files in the image directory");
        }
        if (!a.isRegularFile()) {
            throw new ImageException(name + ": not a regular file");
        }
        return a.size();
    }

    private void expectMagic(int expected, String what) throws ImageException {
        if (left < 4) {
            throw new ImageException(name + ": " + left + " bytes left, too short for its " + what + " "
                    + Magic.describe(expected));
        }
        int magic = readU32();
        if (magic != expected) {
            throw new ImageException(name + ": " + what + " is " + Magic.describe(magic) + ", expected "
                    + Magic.describe(expected));
        }
    }

    /** The image file name, for messages. */
    public String name() {
        return name;
    }

    /** Whether every entry has been read. */
    public boolean atEnd() {
        return left == 0;
    }

    /** The number of entries read so far (the next entry's index is this plus one). */
    public int entriesRead() {
        return entries;
    }

    /**
     * Reads and parses the next entry. Missing required fields, unknown enum values and malformed
     * bytes are reported as {@link ImageException}s naming the file and the entry's 1-based index.
     */
    public <T extends Message> T next(Parser<T> parser) throws ImageException {
        int index = entries + 1;
        if (index > MAX_ENTRIES) {
            throw new ImageException(name + ": more than " + MAX_ENTRIES + " entries");
        }
        if (left == 0) {
            throw new ImageException(name + ": entry " + index + " missing (end of file)");
        }
        if (left < 4) {
            throw new ImageException(name + ": entry " + index + " truncated: " + left + " of the 4 size bytes");
        }
        long length = readU32() & 0xFFFF_FFFFL;
        if (length > MAX_ENTRY_SIZE) {
            throw new ImageException(name + ": entry " + index + " length " + length + " beyond the "
                    + (MAX_ENTRY_SIZE >> 20) + " MiB bound");
        }
        if (length > left) {
            throw new ImageException(name + ": entry " + index + " length " + length + " but only " + left
                    + " bytes left (truncated)");
        }
        byte[] bytes = readFully((int) length);
        entries = index;
        T message;
        try {
            // Partial: an unknown value of a required enum would otherwise surface as "missing".
            message = parser.parsePartialFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new ImageException(name + ": entry " + index + ": malformed protobuf: " + firstSentence(e.getMessage()), e);
        }
        String bad = ProtoChecks.firstBadField(message.getDescriptorForType(), bytes);
        if (bad != null) {
            throw new ImageException(name + ": entry " + index + ": " + bad);
        }
        if (!message.isInitialized()) {
            throw new ImageException(name + ": entry " + index + ": " + message.getDescriptorForType().getName()
                    + " lacks required field(s) " + String.join(", ", message.findInitializationErrors()));
        }
        return message;
    }

    /**
     * The raw bytes that follow an entry in the images that carry them (pipes-data.img: the pipe's
     * bytes after its pipe_data_entry); {@code n} is checked against what is left in the file first.
     */
    public byte[] blob(long n) throws ImageException {
        if (n < 0 || n > left) {
            throw new ImageException(name + ": entry " + entries + " announces " + n + " bytes of data but only " + left
                    + " are left (truncated)");
        }
        return readFully((int) n);
    }

    /**
     * The {@code n} raw bytes that follow an entry (sk-queues.img's packet data); bounded like an
     * entry, and a file that ends early is an ImageException naming it.
     */
    public byte[] nextRaw(long n, String what) throws ImageException {
        if (n < 0 || n > MAX_ENTRY_SIZE) {
            throw new ImageException(name + ": " + what + " of " + n + " bytes beyond the " + (MAX_ENTRY_SIZE >> 20)
                    + " MiB bound");
        }
        if (n > left) {
            throw new ImageException(name + ": " + what + " of " + n + " bytes but only " + left + " left (truncated)");
        }
        return readFully((int) n);
    }

    /** protobuf-java's messages go on with advice after the first sentence; one line is enough here. */
    private static String firstSentence(String message) {
        if (message == null) {
            return "unknown error";
        }
        int end = message.indexOf(". ");
        return end < 0 ? message : message.substring(0, end + 1);
    }

    private int readU32() throws ImageException {
        byte[] b = readFully(4);
        return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
    }

    private byte[] readFully(int n) throws ImageException {
        try {
            byte[] b = in.readNBytes(n);
            if (b.length != n) {
                throw new ImageException(name + ": file shrank while being read");
            }
            left -= n;
            return b;
        } catch (IOException e) {
            throw new ImageException(name + ": read failed: " + e, e);
        }
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // Nothing was written; a failing close of a read-only stream loses nothing.
        }
    }
}
