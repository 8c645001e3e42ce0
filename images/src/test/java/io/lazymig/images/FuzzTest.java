package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of randomly mutated and truncated images (seeded, so every run is the same): reading must
 * end in success or an ImageException naming a file, never in any other exception, a hang or an
 * unbounded allocation. Whatever is accepted must also write and read back unchanged.
 */
@Timeout(300)
class FuzzTest {
    private static final int[] INTERESTING = {0, 1, -1, 0x7fff_ffff, 0x8000_0000, ImageReader.MAX_ENTRY_SIZE,
        ImageReader.MAX_ENTRY_SIZE + 1, 4096, 0xffff, Magic.IMG_COMMON, Magic.MM, Magic.PAGEMAP};

    @TempDir
    Path work;

    private final XsaveLayout layout = SyntheticCpu.amdAvx512();
    private int accepted;
    private int rejected;

    @Test
    void mutatedSampleImages() throws Exception {
        Path dir = work.resolve("sample");
        Files.createDirectory(dir);
        Samples.writeSample(dir);
        fuzz(dir, 0x5eed_1a2bL, 4000);
        assertTrue(rejected > 2000, "most mutations must be caught: " + rejected + " rejected, " + accepted + " accepted");
    }

    @Test
    void mutatedCriuImages() throws Exception {
        Path dir = work.resolve("criu");
        Files.createDirectory(dir);
        try (Stream<Path> files = Files.list(CriuReferenceImagesTest.reference())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (f.getFileName().toString().endsWith(".img")) {
                    Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
        }
        fuzz(dir, 0xc41a_0411L, 1500);
        assertTrue(rejected > 500, rejected + " rejected, " + accepted + " accepted");
    }

    /**
     * The sample with a socket of every kind open (inet listener, UDP, a connection, unix listener,
     * a unix pair with data queued both ways, a datagram socket connected to /dev/log, netlink),
     * its socket entries mutated: files.img and sk-queues.img only.
     */
    @Test
    void mutatedSocketImages() throws Exception {
        Path dir = work.resolve("sockets");
        Files.createDirectory(dir);
        SocketSamples.write(dir);
        fuzz(dir, 0x50c3_e75aL, 3000, name -> name.equals("files.img") || name.equals("sk-queues.img"));
        assertTrue(rejected > 1500, rejected + " rejected, " + accepted + " accepted");
    }

    private void fuzz(Path dir, long seed, int rounds) throws IOException {
        fuzz(dir, seed, rounds, name -> true);
    }

    /** {@code rounds} mutations of the files of {@code dir} whose name {@code victims} accepts. */
    private void fuzz(Path dir, long seed, int rounds, java.util.function.Predicate<String> victims) throws IOException {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> list = Files.list(dir)) {
            list.filter(f -> victims.test(f.getFileName().toString())).sorted().forEach(files::add);
        }
        List<byte[]> originals = new ArrayList<>();
        for (Path f : files) {
            originals.add(Files.readAllBytes(f));
        }
        Checkpoint clean = Checkpoint.read(dir, layout);
        Random random = new Random(seed);
        for (int round = 0; round < rounds; round++) {
            int victim = random.nextInt(files.size());
            Path file = files.get(victim);
            String what = mutate(random, file, originals.get(victim));
            String context = "seed " + Long.toHexString(seed) + " round " + round + ": " + file.getFileName() + " " + what;
            try {
                Checkpoint c = Checkpoint.read(dir, layout);
                accepted++;
                rewriteAndCompare(c, dir, context);
            } catch (ImageException e) {
                rejected++;
                String message = e.getMessage();
                assertTrue(message != null && message.matches("^[a-z]+(-[a-z]+)*(-\\d+)?\\.img: .+"), context + ": unnamed error: " + message);
            } catch (Throwable t) {
                fail(context + ": " + t, t);
            } finally {
                Files.write(file, originals.get(victim));
            }
        }
        assertEquals(clean, Checkpoint.read(dir, layout), "originals restored");
        System.out.println("FUZZ " + dir.getFileName() + ": " + rejected + " rejected, " + accepted + " accepted");
    }

    /** Applies one random mutation to the file; returns a description for failure messages. */
    private static String mutate(Random random, Path file, byte[] original) throws IOException {
        byte[] b = original.clone();
        int kind = random.nextInt(9);
        String what;
        switch (kind) {
            case 0 -> {
                int flips = 1 + random.nextInt(8);
                for (int i = 0; i < flips && b.length > 0; i++) {
                    b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
                }
                what = "flip " + flips + " bits";
            }
            case 1 -> {
                int n = 1 + random.nextInt(4);
                for (int i = 0; i < n && b.length > 0; i++) {
                    b[random.nextInt(b.length)] = (byte) random.nextInt();
                }
                what = "set " + n + " bytes";
            }
            case 2 -> {
                int length = b.length == 0 ? 0 : random.nextInt(b.length);
                b = Arrays.copyOf(b, length);
                what = "truncate to " + length;
            }
            case 3 -> {
                int at = random.nextInt(b.length + 1);
                byte[] extra = new byte[1 + random.nextInt(16)];
                random.nextBytes(extra);
                byte[] out = new byte[b.length + extra.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(extra, 0, out, at, extra.length);
                System.arraycopy(b, at, out, at + extra.length, b.length - at);
                b = out;
                what = "insert " + extra.length + " at " + at;
            }
            case 4 -> {
                if (b.length >= 4) {
                    int at = random.nextInt(b.length - 3);
                    int value = INTERESTING[random.nextInt(INTERESTING.length)];
                    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
                    what = "u32 " + Integer.toHexString(value) + " at " + at;
                } else {
                    what = "nothing (short file)";
                }
            }
            case 5 -> {
                int at = random.nextInt(b.length + 1);
                int n = Math.min(b.length - at, 1 + random.nextInt(32));
                byte[] out = new byte[b.length - n];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(b, at + n, out, at, b.length - at - n);
                b = out;
                what = "delete " + n + " at " + at;
            }
            case 6 -> {
                int at = random.nextInt(b.length + 1);
                int n = Math.min(b.length - at, random.nextInt(64));
                byte[] out = Arrays.copyOf(b, b.length + n);
                System.arraycopy(b, at, out, b.length, n);
                b = out;
                what = "append copy of " + n + " from " + at;
            }
            case 7 -> {
                b = new byte[random.nextInt(64)];
                random.nextBytes(b);
                what = "replace with " + b.length + " random bytes";
            }
            default -> {
                Files.delete(file);
                return "delete the file";
            }
        }
        Files.write(file, b);
        return what;
    }

    /** An accepted checkpoint must survive our writer and reader unchanged. */
    private void rewriteAndCompare(Checkpoint c, Path from, String context) throws IOException {
        Path copy = work.resolve("copy");
        if (Files.exists(copy)) {
            try (Stream<Path> old = Files.list(copy)) {
                for (Path p : (Iterable<Path>) old::iterator) {
                    Files.delete(p);
                }
            }
        } else {
            Files.createDirectory(copy);
        }
        String pages = ImageType.PAGES.fileName(c.pagemap().pagesId());
        Files.copy(from.resolve(pages), copy.resolve(pages));
        c.write(copy);
        assertEquals(c, Checkpoint.read(copy, layout), context + ": accepted checkpoint changed on rewrite");
    }
}
