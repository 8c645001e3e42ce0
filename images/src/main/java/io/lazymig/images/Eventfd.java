package io.lazymig.images;

/**
 * An eventfd: its counter, whether it counts as a semaphore (EFD_SEMAPHORE: each read takes 1) and
 * its file status flags (O_RDWR, O_NONBLOCK). Restore creates it again with eventfd2.
 */
public record Eventfd(int id, int flags, long counter, boolean semaphore) implements FileObject {
    /** The largest value the counter holds (a write that would pass it blocks or fails). */
    public static final long MAX_COUNTER = 0xfffffffffffffffeL;

    public Eventfd {
        FileObject.checkId(id);
        if (Long.compareUnsigned(counter, MAX_COUNTER) > 0) {
            throw new IllegalArgumentException("eventfd id " + id + ": counter 0x" + Long.toHexString(counter)
                    + " is above the largest an eventfd holds (0xfffffffffffffffe)");
        }
    }

    @Override
    public String describe() {
        return "eventfd (counter " + Long.toUnsignedString(counter) + (semaphore ? ", semaphore" : "") + ")";
    }
}
