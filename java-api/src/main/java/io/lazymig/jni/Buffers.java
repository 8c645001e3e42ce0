package io.lazymig.jni;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Addresses of direct buffers, so natives take a plain {@code long} and never copy page data. */
public final class Buffers {
    static {
        NativeLibrary.load();
    }

    private Buffers() {
    }

    /** The native address of a direct buffer's element 0; rejects heap buffers. */
    public static long address(ByteBuffer buf) {
        if (!buf.isDirect()) {
            throw new IllegalArgumentException("a direct ByteBuffer is required, got a heap buffer");
        }
        return nativeAddress(buf);
    }

    /** A page-aligned direct buffer of {@code size} bytes (rounded up to whole pages), native order. */
    public static ByteBuffer allocatePageAligned(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        int page = (int) SystemInfo.PAGE_SIZE;
        long rounded = ((long) size + page - 1) / page * page;
        if (rounded + page > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("buffer too large: " + size);
        }
        ByteBuffer raw = ByteBuffer.allocateDirect((int) rounded + page);
        int misalign = (int) (address(raw) & (page - 1));
        int start = misalign == 0 ? 0 : page - misalign;
        raw.position(start).limit(start + (int) rounded);
        return raw.slice().order(ByteOrder.nativeOrder());
    }

    private static native long nativeAddress(ByteBuffer buf);
}
