package io.lazymig.lazyserver;

import io.lazymig.images.PagemapIov;
import io.lazymig.jni.ProcessMemory;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Page data read straight from the frozen source process (dump --lazy-pages): the lazy pages are
 * never written to disk. The process stays stopped under ptrace while this serves, so its memory
 * is the memory of the dump.
 */
public final class ProcessPageData implements CheckpointPageStore.Data {
    private final int pid;

    public ProcessPageData(int pid) {
        this.pid = pid;
    }

    @Override
    public void read(PagemapIov iov, long vaddr, ByteBuffer dst) throws IOException {
        ProcessMemory.read(pid, vaddr, dst); // advances dst by every byte, or throws
    }

    @Override
    public void close() {
        // the process is released by dump, not by its reader
    }
}
