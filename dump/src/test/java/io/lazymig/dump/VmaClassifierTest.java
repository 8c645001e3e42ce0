package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Vma;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Shmem mappings, as /proc/PID/maps names them, are told apart and refused naming the mapping and its inode. */
class VmaClassifierTest {
    private static MapsEntry entry(boolean shared, long inode, String path) {
        return new MapsEntry(0x7f0000000000L, 0x7f0000002000L, true, true, false, shared, 0, inode, path,
                Set.of("rd", "wr", "mr", "mw", "me"));
    }

    @Test
    void shmemKinds() {
        assertEquals("shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS)",
                VmaClassifier.shmemKind(entry(true, 7, "/dev/zero (deleted)")));
        assertEquals("shared mapping of a memfd", VmaClassifier.shmemKind(entry(true, 8, "/memfd:x (deleted)")));
        assertEquals("private mapping of a memfd", VmaClassifier.shmemKind(entry(false, 8, "/memfd:x (deleted)")));
        assertEquals("SysV shared memory (shmat, key 0x0000abcd)",
                VmaClassifier.shmemKind(entry(true, 9, "/SYSV0000abcd (deleted)")));
        assertNull(VmaClassifier.shmemKind(entry(true, 10, "/dev/shm/x")));
        assertNull(VmaClassifier.shmemKind(entry(false, 11, "/tmp/gone (deleted)")));
    }

    @Test
    void refusalNamesTheMappingAndItsInode() {
        DumpException e = assertThrows(DumpException.class,
                () -> VmaClassifier.classify(entry(true, 4242, "/SYSV0000abcd (deleted)")));
        assertTrue(e.getMessage().contains("7f0000000000-7f0000002000 rw-s 0 /SYSV0000abcd (deleted) (inode 4242)"),
                e.getMessage());
        e = assertThrows(DumpException.class, () -> VmaClassifier.classify(entry(false, 77, "/memfd:x (deleted)")));
        assertTrue(e.getMessage().endsWith("(inode 77): not supported yet (a shared mapping of it is)"), e.getMessage());
    }

    @Test
    void sharedAnonymousMemoryIsItsObjectByInode() throws Exception {
        Vma v = VmaClassifier.classify(entry(true, 4242, "/dev/zero (deleted)"));
        assertEquals(Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_SHARED, v.status());
        assertEquals(Vma.MAP_SHARED | Vma.MAP_ANONYMOUS, v.flags());
        assertEquals(4242, v.shmid());
        assertNull(v.path());
        assertFalse(v.canBeLazy());
        assertNull(VmaClassifier.shmemRefusal(entry(true, 4242, "/dev/zero (deleted)")));
    }

    @Test
    void aSharedMemfdMappingIsItsObjectByInode() throws Exception {
        Vma v = VmaClassifier.classify(entry(true, 8, "/memfd:cache (deleted)"));
        assertEquals(Vma.VMA_AREA_REGULAR | Vma.VMA_FILE_SHARED | Vma.VMA_AREA_MEMFD, v.status());
        assertEquals(Vma.MAP_SHARED, v.flags());
        assertEquals(8, v.shmid());
        assertTrue(v.isMemfd());
        assertFalse(v.isFileBacked(), "no path: it is reached through its object, not a file of any mount");
        assertEquals("cache", ShmemReader.memfdName("/memfd:cache (deleted)"));
        assertEquals("a b (deleted)", ShmemReader.memfdName("/memfd:a b (deleted) (deleted)"));
    }
}
