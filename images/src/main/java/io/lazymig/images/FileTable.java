package io.lazymig.images;

import io.lazymig.images.proto.file_entry;
import java.util.function.IntFunction;

/**
 * files.img as a {@link FileCodec} sees it, for kinds whose entry refers to another one (a FIFO's
 * entry names the REG entry holding its path and flags, as CRIU writes it).
 */
interface FileTable {
    /** The entry with {@code id}, or null when there is none (reading). */
    file_entry get(int id);

    /** Adds the entry {@code make} builds with a fresh id, and returns the id (writing). */
    int add(IntFunction<file_entry> make);
}
