package io.lazymig.jni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** memfd_create, ftruncate and seals on this JVM's own memfds (no root needed), and their errors as errno. */
class SharedMemoryTest {
    private static Path self(FileDescriptor fd) throws NativeException {
        return Path.of("/proc/self/fd/" + fd.fd());
    }

    @Test
    void aMemfdHasItsNameAndSize() throws Exception {
        try (FileDescriptor fd = SharedMemory.createMemfd("lazymig-test", SharedMemory.MFD_CLOEXEC)) {
            assertEquals("/memfd:lazymig-test (deleted)", Files.readSymbolicLink(self(fd)).toString());
            SharedMemory.truncate(fd, 5000);
            assertEquals(5000, Files.size(self(fd)));
            ByteBuffer b = Buffers.allocatePageAligned(4096);
            b.put(0, (byte) 42);
            assertEquals(1, fd.pwrite(Buffers.address(b), 1, 4999));
            assertEquals(5000, Files.size(self(fd)));
        }
    }

    @Test
    void withoutAllowSealingItIsSealedAgainstSeals() throws Exception {
        try (FileDescriptor fd = SharedMemory.createMemfd("plain", SharedMemory.MFD_CLOEXEC)) {
            assertEquals(SharedMemory.F_SEAL_SEAL, SharedMemory.seals(fd));
            NativeException e = assertThrows(NativeException.class,
                    () -> SharedMemory.addSeals(fd, SharedMemory.F_SEAL_GROW));
            assertEquals(Errno.EPERM, e.errno());
        }
    }

    @Test
    void sealsAreAddedAndEnforced() throws Exception {
        try (FileDescriptor fd = SharedMemory.createMemfd("sealed",
                SharedMemory.MFD_CLOEXEC | SharedMemory.MFD_ALLOW_SEALING)) {
            assertEquals(0, SharedMemory.seals(fd));
            SharedMemory.truncate(fd, 8192);
            int seals = SharedMemory.F_SEAL_SHRINK | SharedMemory.F_SEAL_GROW | SharedMemory.F_SEAL_WRITE;
            SharedMemory.addSeals(fd, seals);
            assertEquals(seals, SharedMemory.seals(fd));
            NativeException e = assertThrows(NativeException.class, () -> SharedMemory.truncate(fd, 4096));
            assertEquals(Errno.EPERM, e.errno());
            ByteBuffer b = Buffers.allocatePageAligned(4096);
            e = assertThrows(NativeException.class, () -> fd.pwrite(Buffers.address(b), 1, 0));
            assertEquals(Errno.EPERM, e.errno());
        }
    }

    @Test
    void anFdNotOpenIsEbadf() throws Exception {
        // far above any fd this JVM holds (a just-closed number could be reused by another thread)
        NativeException e = assertThrows(NativeException.class, () -> SharedMemory.seals(new FileDescriptor(999_999)));
        assertEquals(Errno.EBADF, e.errno());
        assertTrue(e.getMessage().contains("F_GET_SEALS"), e.getMessage());
    }
}
