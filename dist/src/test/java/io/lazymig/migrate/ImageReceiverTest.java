package io.lazymig.migrate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageReceiverTest {
    @TempDir
    Path dir;

    /** A FILE frame's payload: u16 name length, name, u64 offset, data. */
    private static ByteBuffer frame(String name, long offset, byte[] data) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(2 + n.length + 8 + data.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.putShort((short) n.length).put(n).putLong(offset).put(data).flip();
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed + i);
        }
        return b;
    }

    @Test
    void wholeImagesAreHeldAndPagesAndImagesInPartsAreWritten() throws Exception {
        ImageReceiver r = new ImageReceiver(dir, 1 << 20, "test");
        r.write(frame("core-7.img", 0, bytes(100, 1)));
        r.write(frame("pages-1.img", 0, bytes(4096, 2)));
        r.write(frame("mm-7.img", 0, bytes(10, 3)));
        r.write(frame("mm-7.img", 10, bytes(5, 4))); // a second part: the whole image goes to its file
        r.write(frame("empty.img", 0, new byte[0]));
        assertEquals(Set.of("core-7.img", "empty.img"), r.held().keySet());
        assertArrayEquals(bytes(100, 1), r.held().get("core-7.img"));
        assertFalse(Files.exists(dir.resolve("core-7.img")));
        assertArrayEquals(bytes(4096, 2), Files.readAllBytes(dir.resolve("pages-1.img")));
        byte[] mm = Files.readAllBytes(dir.resolve("mm-7.img"));
        assertEquals(15, mm.length);
        assertEquals(bytes(10, 3)[9], mm[9]);
        assertEquals(bytes(5, 4)[0], mm[10]);
        assertEquals(100 + 4096 + 15, r.received());

        r.writeHeld();
        assertArrayEquals(bytes(100, 1), Files.readAllBytes(dir.resolve("core-7.img")));
        assertTrue(Files.exists(dir.resolve("empty.img")));
        assertEquals(0, Files.size(dir.resolve("empty.img")));
    }

    @Test
    void eachImageHeldIsToldAsItComesWithTheBytesHeld() throws Exception {
        java.util.Map<String, byte[]> told = new java.util.LinkedHashMap<>();
        ImageReceiver r = new ImageReceiver(dir, 1 << 20, "test", told::put);
        r.write(frame("core-7.img", 0, bytes(100, 1)));
        r.write(frame("pages-1.img", 0, bytes(4096, 2)));
        r.write(frame("mm-7.img", 0, bytes(10, 3)));
        assertEquals(java.util.List.of("core-7.img", "mm-7.img"), java.util.List.copyOf(told.keySet()));
        assertTrue(told.get("core-7.img") == r.held().get("core-7.img"), "the very array held");
        r.write(frame("mm-7.img", 10, bytes(5, 4))); // in parts after all: no longer held
        assertEquals(Set.of("core-7.img"), r.held().keySet());
    }
}
