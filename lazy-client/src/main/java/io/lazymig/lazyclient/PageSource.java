package io.lazymig.lazyclient;

import java.io.IOException;

/**
 * Where lazy page data comes from: the local pages-N.img (answers at once, on the caller's thread)
 * or the lazy server on the source host (answers later, on its receiving thread). Either way the
 * answer arrives as {@link LazyPagesDaemon#deliver}.
 */
interface PageSource extends AutoCloseable {
    /** Asks for the data of {@code f}; the daemon gets it through deliver(f, data). */
    void fetch(Fetch f) throws IOException;

    /** Whether answers come later from another thread (then several fetches are kept in flight). */
    boolean async();

    /** Tells the source that the process has every page (the server may release the source process). */
    default void processComplete(int pid) throws IOException {
    }

    @Override
    void close() throws IOException;
}
