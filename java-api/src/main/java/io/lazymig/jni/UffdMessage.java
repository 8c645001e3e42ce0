package io.lazymig.jni;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A reusable view (flyweight) of one {@code struct uffd_msg} inside a buffer filled by
 * {@link Userfaultfd#readMessages}: {@link #wrap} points it at message {@code i}, the accessors
 * decode it in place. Nothing is allocated per message. The layout comes from C; fields are
 * read in native byte order whatever the buffer's order.
 *
 * <p>Accessors of one event kind throw {@link IllegalStateException} on a message of another
 * kind, so a handler that mixes them up fails loudly instead of reading garbage.
 */
public final class UffdMessage {
    static {
        NativeLibrary.load();
    }

    /** {@code sizeof(struct uffd_msg)} (32 on x86-64). */
    public static final int SIZE = (int) constant("MSG_SIZE");

    public static final int EVENT_PAGEFAULT = (int) constant("UFFD_EVENT_PAGEFAULT");
    public static final int EVENT_FORK = (int) constant("UFFD_EVENT_FORK");
    public static final int EVENT_REMAP = (int) constant("UFFD_EVENT_REMAP");
    public static final int EVENT_REMOVE = (int) constant("UFFD_EVENT_REMOVE");
    public static final int EVENT_UNMAP = (int) constant("UFFD_EVENT_UNMAP");

    public static final long PAGEFAULT_FLAG_WRITE = constant("UFFD_PAGEFAULT_FLAG_WRITE");
    public static final long PAGEFAULT_FLAG_WP = constant("UFFD_PAGEFAULT_FLAG_WP");
    public static final long PAGEFAULT_FLAG_MINOR = constant("UFFD_PAGEFAULT_FLAG_MINOR");

    // Field offsets inside one message (package-private: tests build synthetic messages with them).
    static final int OFFSET_EVENT = (int) constant("OFFSET_EVENT");
    static final int OFFSET_PAGEFAULT_FLAGS = (int) constant("OFFSET_PAGEFAULT_FLAGS");
    static final int OFFSET_PAGEFAULT_ADDRESS = (int) constant("OFFSET_PAGEFAULT_ADDRESS");
    static final int OFFSET_PAGEFAULT_PTID = (int) constant("OFFSET_PAGEFAULT_PTID");
    static final int OFFSET_FORK_UFD = (int) constant("OFFSET_FORK_UFD");
    static final int OFFSET_REMAP_FROM = (int) constant("OFFSET_REMAP_FROM");
    static final int OFFSET_REMAP_TO = (int) constant("OFFSET_REMAP_TO");
    static final int OFFSET_REMAP_LEN = (int) constant("OFFSET_REMAP_LEN");
    static final int OFFSET_REMOVE_START = (int) constant("OFFSET_REMOVE_START");
    static final int OFFSET_REMOVE_END = (int) constant("OFFSET_REMOVE_END");

    /** Native-order views of the buffer: independent of the ByteBuffer's own order, no allocation. */
    static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    private ByteBuffer buf;
    private int base = -1;

    /** An unpositioned view; call {@link #wrap} before reading. */
    public UffdMessage() {
    }

    /** Points this view at message {@code index} of {@code buf} (offset {@code index * SIZE}); returns this. */
    public UffdMessage wrap(ByteBuffer buf, int index) {
        if (index < 0 || (long) (index + 1) * SIZE > buf.capacity()) {
            throw new IndexOutOfBoundsException("message " + index + " is outside a buffer of " + buf.capacity() + " bytes");
        }
        this.buf = buf;
        this.base = index * SIZE;
        return this;
    }

    /** The event type: one of the {@code EVENT_*} values. */
    public int event() {
        if (base < 0) {
            throw new IllegalStateException("UffdMessage not wrapped yet");
        }
        return buf.get(base + OFFSET_EVENT) & 0xff;
    }

    public boolean isPageFault() {
        return event() == EVENT_PAGEFAULT;
    }

    public boolean isFork() {
        return event() == EVENT_FORK;
    }

    public boolean isRemap() {
        return event() == EVENT_REMAP;
    }

    public boolean isRemove() {
        return event() == EVENT_REMOVE;
    }

    public boolean isUnmap() {
        return event() == EVENT_UNMAP;
    }

    /** PAGEFAULT: the {@code PAGEFAULT_FLAG_*} bits. */
    public long pageFaultFlags() {
        expect(EVENT_PAGEFAULT);
        return (long) LONGS.get(buf, base + OFFSET_PAGEFAULT_FLAGS);
    }

    /**
     * PAGEFAULT: the faulting address, rounded down to the page unless the uffd enabled
     * {@link Userfaultfd#FEATURE_EXACT_ADDRESS}.
     */
    public long pageFaultAddress() {
        expect(EVENT_PAGEFAULT);
        return (long) LONGS.get(buf, base + OFFSET_PAGEFAULT_ADDRESS);
    }

    /** PAGEFAULT: the faulting thread's id, or 0 unless the uffd enabled {@link Userfaultfd#FEATURE_THREAD_ID}. */
    public int pageFaultThreadId() {
        expect(EVENT_PAGEFAULT);
        return (int) INTS.get(buf, base + OFFSET_PAGEFAULT_PTID);
    }

    /** PAGEFAULT: a write access (a read fault otherwise). */
    public boolean isWriteFault() {
        return (pageFaultFlags() & PAGEFAULT_FLAG_WRITE) != 0;
    }

    /** PAGEFAULT: a write-protect fault (REGISTER_MODE_WP), not a missing page. */
    public boolean isWriteProtectFault() {
        return (pageFaultFlags() & PAGEFAULT_FLAG_WP) != 0;
    }

    /** PAGEFAULT: a minor fault (REGISTER_MODE_MINOR). */
    public boolean isMinorFault() {
        return (pageFaultFlags() & PAGEFAULT_FLAG_MINOR) != 0;
    }

    /**
     * FORK: the number of a NEW uffd that the kernel installed in the reader's fd table during
     * read(2), for the forked child's memory (its features are the parent's). The reader owns it
     * and must close it, e.g. through {@link #forkUffdDescriptor()} or
     * {@code Userfaultfd.adopt(fd, parentFeatures)}.
     */
    public int forkUffd() {
        expect(EVENT_FORK);
        return (int) INTS.get(buf, base + OFFSET_FORK_UFD);
    }

    /**
     * FORK: the new uffd wrapped as an owned {@link FileDescriptor}. Call at most once per message:
     * two wrappers of one fd number would close it twice.
     */
    public FileDescriptor forkUffdDescriptor() {
        return new FileDescriptor(forkUffd());
    }

    /** REMAP: the old start address (mremap). */
    public long remapFrom() {
        expect(EVENT_REMAP);
        return (long) LONGS.get(buf, base + OFFSET_REMAP_FROM);
    }

    /** REMAP: the new start address. */
    public long remapTo() {
        expect(EVENT_REMAP);
        return (long) LONGS.get(buf, base + OFFSET_REMAP_TO);
    }

    /** REMAP: the length moved. */
    public long remapLength() {
        expect(EVENT_REMAP);
        return (long) LONGS.get(buf, base + OFFSET_REMAP_LEN);
    }

    /** REMOVE (madvise DONTNEED/REMOVE) or UNMAP (munmap, mremap): start of the range. */
    public long rangeStart() {
        expectRange();
        return (long) LONGS.get(buf, base + OFFSET_REMOVE_START);
    }

    /** REMOVE or UNMAP: end (exclusive) of the range. */
    public long rangeEnd() {
        expectRange();
        return (long) LONGS.get(buf, base + OFFSET_REMOVE_END);
    }

    /** "PAGEFAULT", "FORK", ... or "event 0xNN" for an unknown one. */
    public static String eventName(int event) {
        if (event == EVENT_PAGEFAULT) {
            return "PAGEFAULT";
        } else if (event == EVENT_FORK) {
            return "FORK";
        } else if (event == EVENT_REMAP) {
            return "REMAP";
        } else if (event == EVENT_REMOVE) {
            return "REMOVE";
        } else if (event == EVENT_UNMAP) {
            return "UNMAP";
        }
        return "event 0x" + Integer.toHexString(event);
    }

    @Override
    public String toString() {
        if (base < 0) {
            return "UffdMessage(unwrapped)";
        }
        int e = event();
        if (e == EVENT_PAGEFAULT) {
            return "PAGEFAULT(address=0x" + Long.toHexString(pageFaultAddress()) + ", flags=0x"
                    + Long.toHexString(pageFaultFlags()) + ", tid=" + pageFaultThreadId() + ")";
        } else if (e == EVENT_FORK) {
            return "FORK(uffd=" + forkUffd() + ")";
        } else if (e == EVENT_REMAP) {
            return "REMAP(from=0x" + Long.toHexString(remapFrom()) + ", to=0x" + Long.toHexString(remapTo()) + ", len="
                    + remapLength() + ")";
        } else if (e == EVENT_REMOVE || e == EVENT_UNMAP) {
            return eventName(e) + "(0x" + Long.toHexString(rangeStart()) + "-0x" + Long.toHexString(rangeEnd()) + ")";
        }
        return eventName(e);
    }

    private void expect(int wanted) {
        int e = event();
        if (e != wanted) {
            throw new IllegalStateException("not a " + eventName(wanted) + " message: " + eventName(e));
        }
    }

    private void expectRange() {
        int e = event();
        if (e != EVENT_REMOVE && e != EVENT_UNMAP) {
            throw new IllegalStateException("not a REMOVE or UNMAP message: " + eventName(e));
        }
    }

    private static native long constant(String name);
}
