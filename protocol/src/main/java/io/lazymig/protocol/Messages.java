package io.lazymig.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The payloads of the request and reply frames (PROTOCOL.md), little-endian. */
public final class Messages {
    /** GET_PAGES and the sub-header of PAGES: u32 pid, u64 dump-time address, u32 page count. */
    public static final int PAGES_HEADER = 16;
    /** Bound on an image name. */
    public static final int MAX_NAME = 255;
    /** Bound on the images a listing holds. */
    public static final int MAX_IMAGES = 4096;

    /** A page range of one process, at dump-time addresses. */
    public record PageRange(int pid, long vaddr, int nrPages) {
    }

    /** One image the server offers: name and size. */
    public record ImageInfo(String name, long size) {
    }

    private Messages() {
    }

    public static ByteBuffer pageRange(PageRange r) {
        return pageRange(le(PAGES_HEADER), r.pid(), r.vaddr(), r.nrPages());
    }

    /**
     * A page range written into {@code dst} (a little-endian buffer of PAGES_HEADER bytes or more,
     * reused by a sender: no allocation per request), returned ready to send.
     */
    public static ByteBuffer pageRange(ByteBuffer dst, int pid, long vaddr, int nrPages) {
        return dst.clear().putInt(pid).putLong(vaddr).putInt(nrPages).flip();
    }

    /** A little-endian buffer to reuse for {@link #pageRange(ByteBuffer, int, long, int)}. */
    public static ByteBuffer pageRangeBuffer() {
        return ByteBuffer.allocateDirect(PAGES_HEADER).order(ByteOrder.LITTLE_ENDIAN);
    }

    public static PageRange pageRange(ByteBuffer p) throws ProtocolException {
        if (p.remaining() < PAGES_HEADER) {
            throw new ProtocolException("short page range (" + p.remaining() + " bytes)");
        }
        // absolute reads, swapped when p is big-endian: no duplicate per frame
        int at = p.position();
        boolean swap = p.order() != ByteOrder.LITTLE_ENDIAN;
        int pid = p.getInt(at);
        long vaddr = p.getLong(at + 4);
        int n = p.getInt(at + 12);
        PageRange r = swap ? new PageRange(Integer.reverseBytes(pid), Long.reverseBytes(vaddr), Integer.reverseBytes(n))
                : new PageRange(pid, vaddr, n);
        if (r.nrPages() <= 0) {
            throw new ProtocolException("page range of " + r.nrPages() + " pages");
        }
        return r;
    }

    public static ByteBuffer pid(int pid) {
        return le(4).putInt(pid).flip();
    }

    public static ByteBuffer imageList(List<ImageInfo> images) {
        int size = 4;
        for (ImageInfo i : images) {
            size += 2 + i.name().getBytes(StandardCharsets.UTF_8).length + 8;
        }
        ByteBuffer b = le(size).putInt(images.size());
        for (ImageInfo i : images) {
            byte[] n = i.name().getBytes(StandardCharsets.UTF_8);
            b.putShort((short) n.length).put(n).putLong(i.size());
        }
        return b.flip();
    }

    public static List<ImageInfo> imageList(ByteBuffer p) throws ProtocolException {
        try {
            int n = p.getInt();
            if (n < 0 || n > MAX_IMAGES) {
                throw new ProtocolException("image list of " + n + " entries");
            }
            List<ImageInfo> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                out.add(new ImageInfo(name(p), p.getLong()));
            }
            return out;
        } catch (java.nio.BufferUnderflowException e) {
            throw new ProtocolException("truncated image list");
        }
    }

    /** GET_IMAGE: u16 name length, name, u64 offset, u32 length. */
    public static ByteBuffer imageRequest(String name, long offset, int length) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return le(2 + n.length + 12).putShort((short) n.length).put(n).putLong(offset).putInt(length).flip();
    }

    /** A decoded GET_IMAGE request. */
    public record ImageRequest(String name, long offset, int length) {
    }

    public static ImageRequest imageRequest(ByteBuffer p) throws ProtocolException {
        try {
            ImageRequest r = new ImageRequest(name(p), p.getLong(), p.getInt());
            if (r.offset() < 0 || r.length() < 0 || r.length() > Frame.MAX_PAYLOAD - 8) {
                throw new ProtocolException("bad image range " + r.offset() + "+" + r.length());
            }
            return r;
        } catch (java.nio.BufferUnderflowException e) {
            throw new ProtocolException("truncated image request");
        }
    }

    private static String name(ByteBuffer p) throws ProtocolException {
        int len = p.getShort() & 0xffff;
        if (len == 0 || len > MAX_NAME) {
            throw new ProtocolException("image name of " + len + " bytes");
        }
        byte[] n = new byte[len];
        p.get(n);
        return new String(n, StandardCharsets.UTF_8);
    }

    /** A u64 on its own (the offset heading an IMAGE reply). */
    public static ByteBuffer le8(long v) {
        return le(8).putLong(v).flip();
    }

    static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
