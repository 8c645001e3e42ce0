package io.lazymig.jni;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** process_vm_readv/writev and /proc/PID/mem on this JVM's own memory (no root needed), and bad input. */
class ProcessMemoryArgsTest {
    private static final int SELF = SystemInfo.getpid();

    private static ByteBuffer pattern(int size, int seed) {
        ByteBuffer b = ByteBuffer.allocateDirect(size);
        for (int i = 0; i < size; i++) {
            b.put(i, (byte) (i * 31 + seed));
        }
        return b;
    }

    @Test
    void readsOwnMemory() throws Exception {
        ByteBuffer src = pattern(10000, 7);
        ByteBuffer dst = ByteBuffer.allocateDirect(10000);
        ProcessMemory.read(SELF, Buffers.address(src), dst);
        assertEquals(10000, dst.position());
        assertEquals(src.clear(), dst.clear());
    }

    @Test
    void unalignedAddressesAndLengthsAreFine() throws Exception {
        ByteBuffer src = pattern(64, 21);
        ByteBuffer dst = ByteBuffer.allocateDirect(64);
        IoVecBatch batch = new IoVecBatch(1).add(Buffers.address(dst) + 5, Buffers.address(src) + 3, 13);
        assertEquals(13, ProcessMemory.readv(SELF, batch).check());
        assertEquals(src.slice(3, 13), dst.slice(5, 13));
    }

    @Test
    void writesOwnMemory() throws Exception {
        ByteBuffer src = pattern(5000, 3);
        ByteBuffer dst = ByteBuffer.allocateDirect(5000);
        ProcessMemory.write(SELF, Buffers.address(dst), src);
        assertEquals(5000, src.position());
        assertEquals(src.clear(), dst.clear());
    }

    @Test
    void batchesLargerThanIovMaxAreSplit() {
        int entries = 2 * ProcessMemory.IOV_MAX + 5;
        ByteBuffer src = pattern(entries * 16, 1);
        ByteBuffer dst = ByteBuffer.allocateDirect(entries * 8);
        long s = Buffers.address(src);
        long d = Buffers.address(dst);
        IoVecBatch batch = new IoVecBatch(entries);
        for (int i = 0; i < entries; i++) {
            batch.add(d + i * 8L, s + i * 16L, 8); // every other 8-byte block of src, packed into dst
        }
        assertTrue(batch.isFull());
        ProcessMemory.Transfer t = ProcessMemory.readv(SELF, batch);
        assertTrue(t.complete(), t.toString());
        assertEquals(entries * 8L, t.transferred());
        for (int i = 0; i < entries; i++) {
            assertEquals(src.getLong(i * 16), dst.getLong(i * 8), "entry " + i);
        }
        // The same batch once more (the C side restores the entries it adjusts).
        assertTrue(ProcessMemory.readv(SELF, batch).complete());
        assertEquals(8, batch.length(0));
        assertEquals(s, batch.remoteAddress(0));
        assertEquals(d, batch.localAddress(0));
    }

    @Test
    void partialTransferReportsBytesDoneAndErrno() {
        ByteBuffer src = pattern(4096, 5);
        ByteBuffer dst = ByteBuffer.allocateDirect(8192);
        long d = Buffers.address(dst);
        IoVecBatch batch = new IoVecBatch(3).add(d, Buffers.address(src), 4096).add(d + 4096, 8, 100);
        ProcessMemory.Transfer t = ProcessMemory.readv(SELF, batch);
        assertFalse(t.complete());
        assertEquals(4096, t.transferred());
        assertEquals(4196, t.requested());
        assertEquals(Errno.EFAULT, t.errno());
        NativeException e = assertThrows(NativeException.class, t::check);
        assertThat(e.getMessage(), containsString("process_vm_readv(" + SELF + ", 2 iovecs): stopped after 4096 of 4196 bytes: EFAULT"));
        assertEquals(src.clear(), dst.slice(0, 4096));
    }

    @Test
    void parallelArraysFormOneBatch() {
        ByteBuffer src = pattern(64, 9);
        ByteBuffer dst = ByteBuffer.allocateDirect(64);
        long s = Buffers.address(src);
        long d = Buffers.address(dst);
        ProcessMemory.Transfer t = ProcessMemory.writev(SELF, new long[] { s, s + 32 }, new long[] { d + 32, d },
                new long[] { 32, 32 });
        assertTrue(t.complete());
        assertEquals(src.slice(0, 32), dst.slice(32, 32));
        assertEquals(src.slice(32, 32), dst.slice(0, 32));
    }

    @Test
    void procMemOfSelfReadsAndWrites() throws Exception {
        ByteBuffer target = pattern(3000, 11);
        ByteBuffer data = pattern(3000, 99);
        try (FileDescriptor mem = ProcessMemory.openMem(SELF, true)) {
            ProcessMemory.writeMem(mem, Buffers.address(target), data);
            assertEquals(data.clear(), target.clear());
            ByteBuffer back = ByteBuffer.allocateDirect(3000);
            ProcessMemory.readMem(mem, Buffers.address(target), back);
            assertEquals(target.clear(), back.clear());
            // Page 0 is never mapped: /proc/PID/mem reports EIO.
            NativeException e = assertThrows(NativeException.class,
                    () -> ProcessMemory.readMem(mem, 8, ByteBuffer.allocateDirect(16)));
            assertEquals(Errno.EIO, e.errno());
            assertThat(e.getMessage(), containsString("stopped after 0 of 16 bytes"));
        }
    }

    @Test
    void closedMemFdIsEbadf() throws Exception {
        FileDescriptor mem = ProcessMemory.openMem(SELF, false);
        mem.close();
        NativeException e = assertThrows(NativeException.class,
                () -> ProcessMemory.readMem(mem, 4096, ByteBuffer.allocateDirect(8)));
        assertEquals(Errno.EBADF, e.errno());
    }

    @Test
    void deadPidIsEsrch() throws Exception {
        int dead = NoSuchPid.get();
        ByteBuffer dst = ByteBuffer.allocateDirect(8);
        NativeException e = assertThrows(NativeException.class, () -> ProcessMemory.read(dead, 4096, dst));
        assertEquals(Errno.ESRCH, e.errno());
        assertThat(e.getMessage(), containsString("process_vm_readv(" + dead + ", 1 iovecs): stopped after 0 of 8 bytes: ESRCH (No such process)"));
        NativeException open = assertThrows(NativeException.class, () -> ProcessMemory.openMem(dead, false));
        assertEquals(Errno.ENOENT, open.errno());
    }

    @Test
    void badArgumentsAreRefusedBeforeC() {
        assertThrows(IllegalArgumentException.class, () -> new IoVecBatch(0));
        assertThrows(IllegalArgumentException.class, () -> new IoVecBatch(1).add(4096, 4096, 0));
        assertThrows(IllegalArgumentException.class, () -> new IoVecBatch(1).add(4096, 4096, -5));
        assertThrows(IllegalStateException.class, () -> new IoVecBatch(1).add(4096, 4096, 1).add(4096, 4096, 1));
        assertThrows(IllegalArgumentException.class, () -> new IoVecBatch(1).add(ByteBuffer.allocate(8), 4096));
        assertThrows(IllegalArgumentException.class, () -> ProcessMemory.readv(SELF, new IoVecBatch(1)));
        assertThrows(IllegalArgumentException.class, () -> ProcessMemory.readv(0, new IoVecBatch(1).add(1, 1, 1)));
        assertThrows(IllegalArgumentException.class,
                () -> ProcessMemory.readv(SELF, new long[] { 1 }, new long[] { 1, 2 }, new long[] { 1 }));
        assertThrows(IllegalArgumentException.class,
                () -> ProcessMemory.readv(SELF, new long[0], new long[0], new long[0]));
        assertThrows(IndexOutOfBoundsException.class, () -> new IoVecBatch(1).add(1, 1, 1).length(1));
        assertThrows(IllegalArgumentException.class, () -> {
            try (FileDescriptor mem = ProcessMemory.openMem(SELF, false)) {
                ProcessMemory.preadMem(mem, -4096, 0, 8);
            }
        });
    }
}
