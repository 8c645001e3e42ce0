package io.lazymig.images;

/** A signalfd: the signals it reads (bit signo-1 of {@code sigmask}) and its file status flags. */
public record Signalfd(int id, int flags, long sigmask) implements FileObject {
    public Signalfd {
        FileObject.checkId(id);
    }

    @Override
    public String describe() {
        return "signalfd (mask 0x" + Long.toHexString(sigmask) + ")";
    }
}
