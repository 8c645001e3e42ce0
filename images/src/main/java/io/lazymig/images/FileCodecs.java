package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import java.util.List;

/**
 * The codec of every {@link FileObject} kind. Decoding asks the specific kinds first (/dev/null,
 * terminals and the char devices are REG entries singled out by path), the general one (any REG path)
 * after them; the event fds have types of their own.
 */
final class FileCodecs {
    private static final List<FileCodec<?>> CODECS = List.of(new DevNullCodec(), new TerminalCodec(),
            new CharDeviceCodec(), new RegularFileCodec(), new PipeCodec(), new FifoCodec(), new EventfdCodec(),
            new TimerfdCodec(), new SignalfdCodec(), new InotifyCodec(), new EpollCodec(), new InetSocketCodec(),
            new UnixSockCodec(), new NetlinkSocketCodec(), new MemfdCodec());

    /** What the message about an unsupported kind says. */
    static final String SUPPORTED = "lazymig restores regular files, /dev/null, /dev/zero, /dev/full, /dev/random, "
            + "/dev/urandom, terminals, pipes, FIFOs, memfds, eventfds, timerfds, signalfds, inotify, epoll, "
            + "inet, unix and netlink sockets only";

    private FileCodecs() {
    }

    /** Whether some kind is written with fd_types {@code type}. */
    static boolean supports(fd_types type) {
        for (FileCodec<?> c : CODECS) {
            if (c.type() == type) {
                return true;
            }
        }
        return false;
    }

    /** A table with no other entries, which refuses new ones: for kinds that stand alone. */
    private static final FileTable ALONE = new FileTable() {
        @Override
        public file_entry get(int id) {
            return null;
        }

        @Override
        public int add(java.util.function.IntFunction<file_entry> make) {
            throw new IllegalStateException("this kind needs the whole file table");
        }
    };

    static file_entry encode(FileObject f) {
        return encode(f, ALONE);
    }

    static FileObject decode(file_entry e) {
        return decode(e, ALONE);
    }

    static file_entry encode(FileObject f, FileTable table) {
        return encode(codecOf(f), f, table);
    }

    private static <T extends FileObject> file_entry encode(FileCodec<T> codec, FileObject f, FileTable table) {
        return codec.encode(codec.kind().cast(f), table);
    }

    /** The fd_types value of the entry {@code f} is written as. */
    static fd_types typeOf(FileObject f) {
        return codecOf(f).type();
    }

    private static FileCodec<?> codecOf(FileObject f) {
        for (FileCodec<?> c : CODECS) {
            if (c.kind() == f.getClass()) {
                return c;
            }
        }
        throw new IllegalStateException("no codec for " + f.getClass().getSimpleName());
    }

    /** The entry as its kind; an unsupported kind is an IllegalArgumentException naming its type. */
    static FileObject decode(file_entry e, FileTable table) {
        for (FileCodec<?> c : CODECS) {
            if (c.type() == e.getType() && c.decodes(e)) {
                return c.decode(e, table);
            }
        }
        if (e.getType() == fd_types.REG) {
            RegEntries.reg(e); // says what is wrong with it
        }
        throw new IllegalArgumentException("file id " + Integer.toUnsignedString(e.getId()) + " is of type "
                + e.getType() + "; " + SUPPORTED);
    }
}
