package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.pagemap_entry;
import io.lazymig.images.proto.pagemap_head;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pagemap_entry's page count: old field 2 (uint32, CRIU <= 4.1) and new field 5 (uint64, CRIU >= 4.2). */
class PagemapCompatTest {
    @TempDir
    Path dir;

    @Test
    void writerFillsBothFields() {
        pagemap_entry e = ProtoConvert.toProto(new PagemapIov(0x10000, 7, PagemapIov.PE_LAZY | PagemapIov.PE_PRESENT, 0));
        assertEquals(7, e.getCompatNrPages());
        assertTrue(e.hasNrPages());
        assertEquals(7, e.getNrPages());
        assertEquals(6, e.getFlags());
    }

    @Test
    void countBeyond32BitsLeavesTheCompatFieldZeroAsCriu42Does() {
        long huge = 0x1_0000_0001L;
        pagemap_entry e = ProtoConvert.toProto(new PagemapIov(0x10000, huge, PagemapIov.PE_LAZY, -1));
        assertEquals(0, e.getCompatNrPages());
        assertEquals(huge, e.getNrPages());
        assertEquals(huge, ProtoConvert.nrPages(e));
    }

    @Test
    void oldOnly() throws Exception {
        pagemap_entry old = pagemap_entry.newBuilder().setVaddr(0x20000).setCompatNrPages(3).setFlags(4).build();
        assertFalse(old.hasNrPages());
        assertEquals(3, roundTripCount(old));
    }

    @Test
    void newOnlyWithCompatZero() throws Exception {
        pagemap_entry criu42 = pagemap_entry.newBuilder().setVaddr(0x20000).setCompatNrPages(0).setNrPages(5).setFlags(4).build();
        assertEquals(5, roundTripCount(criu42));
    }

    @Test
    void bothPreferTheNewField() throws Exception {
        pagemap_entry both = pagemap_entry.newBuilder().setVaddr(0x20000).setCompatNrPages(2).setNrPages(9).setFlags(4).build();
        assertEquals(9, roundTripCount(both));
    }

    @Test
    void oldCountIsUnsigned() {
        pagemap_entry e = pagemap_entry.newBuilder().setVaddr(0).setCompatNrPages(0xFFFF_FFFF).build();
        assertEquals(0xFFFF_FFFFL, ProtoConvert.nrPages(e));
    }

    @Test
    void missingFlagsMeanPresentOrParent() {
        pagemap_entry plain = pagemap_entry.newBuilder().setVaddr(0).setCompatNrPages(1).build();
        assertEquals(PagemapIov.PE_PRESENT, ProtoConvert.flags(plain));
        pagemap_entry inParent = pagemap_entry.newBuilder().setVaddr(0).setCompatNrPages(1).setInParent(true).build();
        assertEquals(PagemapIov.PE_PARENT, ProtoConvert.flags(inParent));
    }

    /** Writes the entry through the image framing and reads the model back. */
    private long roundTripCount(pagemap_entry entry) throws Exception {
        ImageDir d = ImageDir.of(dir);
        d.writePagemap(1, new ImageDir.PagemapImage(pagemap_head.newBuilder().setPagesId(1).build(), List.of(entry)));
        Pagemap pm = ProtoConvert.pagemapFromProto(d.readPagemap(1));
        assertEquals(1, pm.iovs().size());
        return pm.iovs().get(0).nrPages();
    }
}
