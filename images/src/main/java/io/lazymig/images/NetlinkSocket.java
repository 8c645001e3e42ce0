package io.lazymig.images;

/**
 * A netlink socket a runtime opens (CRIU's netlink_sk_entry): its type (SOCK_RAW or SOCK_DGRAM),
 * protocol (NETLINK_ROUTE 0, NETLINK_KOBJECT_UEVENT 15, ...), its port id and the multicast groups
 * it is bound to (the first 32, as bind takes them), and where it is connected. Restore binds a new
 * one to the same groups and lets the kernel pick its port id; messages queued at dump are not
 * carried (they describe the source host).
 */
public record NetlinkSocket(int id, long ino, int type, int protocol, long portid, int groups, long dstPortid,
        int dstGroup, int flags, SocketOptions opts) implements FileObject {
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;

    public NetlinkSocket {
        FileObject.checkId(id);
        if (type != SOCK_RAW && type != SOCK_DGRAM) {
            throw new IllegalArgumentException("netlink socket " + id + ": type " + type + " is neither SOCK_RAW nor SOCK_DGRAM");
        }
        if (protocol < 0 || protocol > 31) {
            throw new IllegalArgumentException("netlink socket " + id + ": protocol " + protocol + " out of range");
        }
    }

    /** Bound (a port id, or groups) at dump. */
    public boolean isBound() {
        return portid != 0 || groups != 0;
    }

    @Override
    public String describe() {
        return "netlink protocol " + protocol + (groups != 0 ? " groups 0x" + Integer.toHexString(groups) : "");
    }
}
