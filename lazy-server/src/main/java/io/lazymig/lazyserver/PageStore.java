package io.lazymig.lazyserver;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Where the server takes lazy page data from: pages-N.img, or a frozen process (dump --lazy-pages). */
public interface PageStore extends AutoCloseable {
    /** A request the store refuses (not lazy, not in the checkpoint, unknown pid): an error reply, not a hang-up. */
    final class Refused extends IOException {
        private static final long serialVersionUID = 1L;
        public final int code;

        public Refused(int code, String message) {
            super(message);
            this.code = code;
        }
    }

    /** The checkpoint's pid. */
    int pid();

    /** Lazy pages in the checkpoint. */
    long lazyPages();

    /**
     * Fills {@code dst} with up to {@code nrPages} lazy pages of {@code pid} from dump-time
     * {@code vaddr}, clamped to the end of its pagemap entry; returns the pages filled.
     */
    int read(int pid, long vaddr, int nrPages, ByteBuffer dst) throws IOException;

    @Override
    void close() throws IOException;
}
