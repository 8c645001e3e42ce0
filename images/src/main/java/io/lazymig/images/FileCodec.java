package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;

/**
 * One kind of {@link FileObject} ↔ its files.img entry ({@code file_entry} with its fd_types and
 * sub-message). {@link FileCodecs} holds one per kind.
 */
interface FileCodec<T extends FileObject> {
    /** The record this codec writes. */
    Class<T> kind();

    /** The fd_types value its entries carry (also in each fdinfo entry pointing at them). */
    fd_types type();

    /** Whether {@code e} (of {@link #type()}) is of this kind: several kinds may share a type (REG by path). */
    boolean decodes(file_entry e);

    file_entry encode(T file);

    /** The entry as this kind; an IllegalArgumentException says what is wrong with it. */
    T decode(file_entry e);

    /** {@link #encode(FileObject)} for a kind that adds entries its own refers to (a FIFO's path). */
    default file_entry encode(T file, FileTable table) {
        return encode(file);
    }

    /** {@link #decode(file_entry)} for a kind whose entry refers to others. */
    default T decode(file_entry e, FileTable table) {
        return decode(e);
    }
}
