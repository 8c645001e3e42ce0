package io.lazymig.images;

/**
 * Every magic number of CRIU's image files (CRIU-FACTS §4.2). Each is a u32 in host order, so
 * little-endian on x86_64. A protobuf image starts with {@link #IMG_COMMON} and then its own magic;
 * {@code inventory.img} starts with its own magic only; {@code pages-N.img} has none.
 */
public final class Magic {
    /** First word of every protobuf image except inventory.img ("Sarov"). */
    public static final int IMG_COMMON = 0x54564319;
    /** First word of CRIU's service files (stats-*, irmap-cache), which lazymig never reads ("Zlatoust"). */
    public static final int IMG_SERVICE = 0x55105940;
    /** The pseudo-magic of raw images such as pages-N.img: nothing is written. */
    public static final int RAW = 0;

    public static final int INVENTORY = 0x58313116;
    public static final int PSTREE = 0x50273030;
    public static final int CORE = 0x55053847;
    public static final int IDS = 0x54432030;
    public static final int MM = 0x57492820;
    public static final int PAGEMAP = 0x56084025;
    public static final int FDINFO = 0x56213732;
    public static final int FILES = 0x56303138;
    public static final int FS = 0x51403912;
    public static final int PIPES_DATA = 0x56453709;
    public static final int FIFO_DATA = 0x59333054;
    public static final int SK_QUEUES = 0x56264026;
    public static final int MEMFD_INODE = 0x48453499;
    public static final int TCP_STREAM = 0x51465506;
    /** lazymig's own carried-files.img (not a CRIU image; CRIU ignores the file). */
    public static final int CARRIED_FILES = 0x4c4d4346;
    /** lazymig's own flocks.img (not CRIU's file-lock.img; CRIU ignores the file). */
    public static final int FLOCKS = 0x4c4d464c;

    private Magic() {
    }

    /** A readable name for error messages: "0x57492820 (MM)", or just the hex for unknown words. */
    static String describe(int magic) {
        String hex = String.format("0x%08x", magic);
        String name = switch (magic) {
            case IMG_COMMON -> "IMG_COMMON";
            case IMG_SERVICE -> "IMG_SERVICE";
            case INVENTORY -> "INVENTORY";
            case PSTREE -> "PSTREE";
            case CORE -> "CORE";
            case IDS -> "IDS";
            case MM -> "MM";
            case PAGEMAP -> "PAGEMAP";
            case FDINFO -> "FDINFO";
            case FILES -> "FILES";
            case FS -> "FS";
            case PIPES_DATA -> "PIPES_DATA";
            case FIFO_DATA -> "FIFO_DATA";
            case SK_QUEUES -> "SK_QUEUES";
            case MEMFD_INODE -> "MEMFD_INODE";
            case TCP_STREAM -> "TCP_STREAM";
            case CARRIED_FILES -> "CARRIED_FILES";
            case FLOCKS -> "FLOCKS";
            default -> null;
        };
        return name == null ? hex : hex + " (" + name + ")";
    }
}
