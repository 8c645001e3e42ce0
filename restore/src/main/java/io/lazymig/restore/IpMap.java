package io.lazymig.restore;

import io.lazymig.images.InetSocket;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * restore's {@code --ip-map OLD=NEW}: a socket bound to the source host's address OLD is bound to
 * NEW on this host. Wildcard addresses (0.0.0.0, ::) are never mapped: they stay wildcard. An
 * address neither mapped nor this host's is an error naming the socket (at bind: EADDRNOTAVAIL).
 */
public final class IpMap {
    public static final IpMap NONE = new IpMap(Map.of());

    private final Map<String, byte[]> map;

    private IpMap(Map<String, byte[]> map) {
        this.map = map;
    }

    /** Parses "OLD=NEW" entries (numeric IPv4 or IPv6 addresses of one family each); a bad one is an IllegalArgumentException. */
    public static IpMap parse(List<String> entries) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (String e : entries) {
            int eq = e.indexOf('=');
            if (eq <= 0 || eq == e.length() - 1) {
                throw new IllegalArgumentException("--ip-map " + e + ": expected OLD=NEW (two IP addresses)");
            }
            byte[] from = numeric(e.substring(0, eq), e);
            byte[] to = numeric(e.substring(eq + 1), e);
            if (from.length != to.length) {
                throw new IllegalArgumentException("--ip-map " + e + ": maps between IPv4 and IPv6");
            }
            if (m.put(InetSocket.addressText(from), to) != null) {
                throw new IllegalArgumentException("--ip-map " + e + ": " + e.substring(0, eq) + " is mapped twice");
            }
        }
        return new IpMap(m);
    }

    private static byte[] numeric(String s, String entry) {
        if (!s.matches("[0-9a-fA-F.:]+")) {
            throw new IllegalArgumentException("--ip-map " + entry + ": " + s + " is not a numeric IP address");
        }
        try {
            return InetAddress.getByName(s).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("--ip-map " + entry + ": " + s + " is not an IP address", e);
        }
    }

    /** The address to bind instead of {@code addr}: its mapping, else itself. */
    public byte[] map(byte[] addr) {
        byte[] to = map.get(InetSocket.addressText(addr));
        return to == null ? addr.clone() : to.clone();
    }

    public boolean maps(byte[] addr) {
        return map.containsKey(InetSocket.addressText(addr));
    }

    public boolean isEmpty() {
        return map.isEmpty();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        map.forEach((k, v) -> b.append(b.length() == 0 ? "" : ",").append(k).append('=').append(InetSocket.addressText(v)));
        return b.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpMap m && toString().equals(m.toString());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(map.keySet().toArray());
    }
}
