package io.lazymig.images;

/** The image files lazymig reads and writes: file name, magic and header layout (CRIU-FACTS §4.1, §4.2). */
public enum ImageType {
    INVENTORY("inventory.img", Magic.INVENTORY, false),
    PSTREE("pstree.img", Magic.PSTREE, true),
    /** One per thread: core-TID.img. */
    CORE("core-%s.img", Magic.CORE, true),
    IDS("ids-%s.img", Magic.IDS, true),
    MM("mm-%s.img", Magic.MM, true),
    PAGEMAP("pagemap-%s.img", Magic.PAGEMAP, true),
    /** One per shared memory object (MAP_SHARED anonymous or memfd): pagemap-shmem-SHMID.img, vaddr = offset in it. */
    PAGEMAP_SHMEM("pagemap-shmem-%s.img", Magic.PAGEMAP, true),
    /** The memfds of the tree: one memfd_inode_entry each; absent when none. */
    MEMFD_INODE("memfd.img", Magic.MEMFD_INODE, true),
    /** Raw page data in pagemap order, no magic and no framing. */
    PAGES("pages-%s.img", Magic.RAW, false),
    /** One per files_id of ids-PID.img. */
    FDINFO("fdinfo-%s.img", Magic.FDINFO, true),
    FILES("files.img", Magic.FILES, true),
    FS("fs-%s.img", Magic.FS, true),
    /** The bytes in each pipe's buffer: a pipe_data_entry then its raw bytes, per pipe; absent when no pipe. */
    PIPES_DATA("pipes-data.img", Magic.PIPES_DATA, true),
    /** The same for FIFOs. */
    FIFO_DATA("fifo-data.img", Magic.FIFO_DATA, true),
    /** The data queued on sockets: sk_packet_entry, each followed by its raw bytes. */
    SK_QUEUES("sk-queues.img", Magic.SK_QUEUES, true),
    /** One per established TCP connection carried alive, named by the socket's inode in hex: a tcp_stream_entry, then the bytes of its receive and send queues. */
    TCP_STREAM("tcp-stream-%x.img", Magic.TCP_STREAM, true),
    /** lazymig's own: the small files that travel with the images ({@link CarriedFile}); absent when none. */
    CARRIED_FILES("carried-files.img", Magic.CARRIED_FILES, true),
    /** lazymig's own: the flock locks the processes hold ({@link FileLock}); absent when none. */
    FLOCKS("flocks.img", Magic.FLOCKS, true);

    private final String pattern;
    private final int magic;
    private final boolean commonMagic;

    ImageType(String pattern, int magic, boolean commonMagic) {
        this.pattern = pattern;
        this.magic = magic;
        this.commonMagic = commonMagic;
    }

    /** This image's own magic word ({@link Magic#RAW} for raw images). */
    public int magic() {
        return magic;
    }

    /** Whether the file starts with {@link Magic#IMG_COMMON} before {@link #magic()}. */
    public boolean hasCommonMagic() {
        return commonMagic;
    }

    public boolean isRaw() {
        return magic == Magic.RAW;
    }

    /** Whether the file name carries an id (pid, tid, files_id or pages_id). */
    public boolean isPerId() {
        return pattern.contains("%s") || pattern.contains("%x");
    }

    /** The file name; {@code id} is an unsigned 32-bit value (in hex for tcp-stream) and ignored for global images. */
    public String fileName(int id) {
        if (pattern.contains("%x")) {
            return pattern.replace("%x", Integer.toHexString(id));
        }
        // not String.format: its format-string parsing (a regex) ran per image, interpreted on a cold
        // JVM, inside the downtime (a core image per thread)
        return isPerId() ? pattern.replace("%s", Integer.toUnsignedString(id)) : pattern;
    }
}
