package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
                () -> VmaClassifier.classify(entry(true, 4242, "/dev/zero (deleted)")));
        assertTrue(e.getMessage().contains("7f0000000000-7f0000002000 rw-s 0 /dev/zero (deleted) (inode 4242)"),
                e.getMessage());
    }
}
