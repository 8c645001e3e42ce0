package io.lazymig.images;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.fs_entry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bytes on disk: magic words and length-prefixed entries, as CRIU frames them. */
class FramingTest {
    @TempDir
    Path dir;

    /** CRIU-FACTS §4.2, typed in again so a typo in Magic cannot hide. */
    @Test
    void magicsAreCriuValues() {
        assertEquals(0x54564319, Magic.IMG_COMMON);
        assertEquals(0x55105940, Magic.IMG_SERVICE);
        assertEquals(0x58313116, Magic.INVENTORY);
        assertEquals(0x50273030, Magic.PSTREE);
        assertEquals(0x55053847, Magic.CORE);
        assertEquals(0x54432030, Magic.IDS);
        assertEquals(0x57492820, Magic.MM);
        assertEquals(0x56084025, Magic.PAGEMAP);
        assertEquals(0x56213732, Magic.FDINFO);
        assertEquals(0x56303138, Magic.FILES);
        assertEquals(0x51403912, Magic.FS);
        assertEquals(0, Magic.RAW);
    }

    @Test
    void everyImageStartsWithItsMagicWords() throws Exception {
        Samples.writeSample(dir);
        assertHeader("inventory.img", Magic.INVENTORY);
        assertHeader("pstree.img", Magic.IMG_COMMON, Magic.PSTREE);
        assertHeader("core-4242.img", Magic.IMG_COMMON, Magic.CORE);
        assertHeader("ids-4242.img", Magic.IMG_COMMON, Magic.IDS);
        assertHeader("mm-4242.img", Magic.IMG_COMMON, Magic.MM);
        assertHeader("pagemap-4242.img", Magic.IMG_COMMON, Magic.PAGEMAP);
        assertHeader("files.img", Magic.IMG_COMMON, Magic.FILES);
        assertHeader("fdinfo-2.img", Magic.IMG_COMMON, Magic.FDINFO);
        assertHeader("fs-4242.img", Magic.IMG_COMMON, Magic.FS);
    }

    @Test
    void inventoryBytesAreLittleEndianMagicThenOneEntry() throws Exception {
        Samples.writeSample(dir);
        byte[] b = Files.readAllBytes(dir.resolve("inventory.img"));
        assertEquals(0x16, b[0]);
        assertEquals(0x31, b[1]);
        assertEquals(0x31, b[2]);
        assertEquals(0x58, b[3]);
        assertThat(entrySizes(b, 4), contains(b.length - 8));
    }

    @Test
    void entriesAreSizePrefixedUpToEndOfFile() throws Exception {
        Samples.writeSample(dir);
        byte[] pagemap = Files.readAllBytes(dir.resolve("pagemap-4242.img"));
        assertEquals(8, entrySizes(pagemap, 8).size(), "head + 7 entries");
        byte[] fdinfo = Files.readAllBytes(dir.resolve("fdinfo-2.img"));
        assertEquals(4, entrySizes(fdinfo, 8).size());
    }

    @Test
    void pagesImageIsRawData() throws Exception {
        Checkpoint c = Samples.writeSample(dir);
        byte[] pages = Files.readAllBytes(dir.resolve("pages-1.img"));
        assertEquals(c.pagemap().presentBytes(), pages.length);
        byte[] first = new byte[4096];
        System.arraycopy(pages, 0, first, 0, 4096);
        assertTrue(java.util.Arrays.equals(Samples.page(0x555555557000L), first), "no header before the first page");
    }

    @Test
    void handWrittenBytesAreRead() throws Exception {
        // [common][FS magic][size 6][fs_entry{cwd_id=5, root_id=7, umask=18}]
        byte[] entry = fs_entry.newBuilder().setCwdId(5).setRootId(7).setUmask(18).build().toByteArray();
        assertEquals(6, entry.length);
        ByteBuffer b = ByteBuffer.allocate(12 + entry.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(Magic.IMG_COMMON).putInt(Magic.FS).putInt(entry.length).put(entry);
        Files.write(dir.resolve("fs-9.img"), b.array());
        fs_entry fs = ImageDir.of(dir).readFs(9);
        assertEquals(5, fs.getCwdId());
        assertEquals(7, fs.getRootId());
        assertEquals(18, fs.getUmask());
    }

    @Test
    void writerRoundTripsManyEntries() throws Exception {
        ImageDir d = ImageDir.of(dir);
        List<fs_entry> many = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            many.add(fs_entry.newBuilder().setCwdId(i).setRootId(i * 3).build());
        }
        d.writeAll(ImageType.FS, 1, many);
        assertEquals(many, d.readAll(ImageType.FS, 1, fs_entry.parser()));
    }

    private void assertHeader(String name, int... magics) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(name))).order(ByteOrder.LITTLE_ENDIAN);
        for (int magic : magics) {
            assertEquals(Magic.describe(magic), Magic.describe(b.getInt()), name);
        }
        assertTrue(entrySizes(b.array(), 4 * magics.length).size() > 0, name + " has entries");
    }

    /** Walks the [u32 LE size][bytes] records from {@code offset} and checks they end exactly at end of file. */
    private static List<Integer> entrySizes(byte[] file, int offset) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        b.position(offset);
        List<Integer> sizes = new ArrayList<>();
        while (b.hasRemaining()) {
            int size = b.getInt();
            sizes.add(size);
            b.position(b.position() + size);
        }
        return sizes;
    }
}
