package io.lazymig.lazyclient;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Where lazy page data comes from: the local pages-N.img, or the lazy server on the source host. */
interface PageSource extends AutoCloseable {
    /**
     * Fills {@code dst}'s remaining bytes with the checkpoint's data of process {@code pid} at
     * dump-time address {@code source} (page-aligned, within one pagemap entry).
     */
    void read(int pid, long source, ByteBuffer dst) throws IOException;

    @Override
    void close() throws IOException;
}
