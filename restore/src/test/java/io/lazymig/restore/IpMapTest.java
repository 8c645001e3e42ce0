package io.lazymig.restore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** --ip-map OLD=NEW: parsed strictly, applied to mapped addresses only. */
class IpMapTest {
    @Test
    void mapsOnlyWhatItNames() {
        IpMap m = IpMap.parse(List.of("10.231.77.1=10.231.77.2", "fd00::1=fd00::2"));
        assertArrayEquals(new byte[] {10, (byte) 231, 77, 2}, m.map(new byte[] {10, (byte) 231, 77, 1}));
        assertArrayEquals(new byte[] {127, 0, 0, 1}, m.map(new byte[] {127, 0, 0, 1}));
        assertTrue(m.maps(new byte[] {10, (byte) 231, 77, 1}));
        assertFalse(m.maps(new byte[] {10, (byte) 231, 77, 2}));
        byte[] v6 = new byte[16];
        v6[0] = (byte) 0xfd;
        v6[15] = 1;
        byte[] v6new = v6.clone();
        v6new[15] = 2;
        assertArrayEquals(v6new, m.map(v6));
        assertEquals("10.231.77.1=10.231.77.2,fd00::1=fd00::2", m.toString());
    }

    @Test
    void refusesBadEntries() {
        assertEquals("--ip-map 10.0.0.1: expected OLD=NEW (two IP addresses)",
                assertThrows(IllegalArgumentException.class, () -> IpMap.parse(List.of("10.0.0.1"))).getMessage());
        assertEquals("--ip-map 10.0.0.1=::1: maps between IPv4 and IPv6",
                assertThrows(IllegalArgumentException.class, () -> IpMap.parse(List.of("10.0.0.1=::1"))).getMessage());
        assertEquals("--ip-map host=10.0.0.1: host is not a numeric IP address",
                assertThrows(IllegalArgumentException.class, () -> IpMap.parse(List.of("host=10.0.0.1"))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> IpMap.parse(List.of("10.0.0.1=10.0.0.2", "10.0.0.1=10.0.0.3")));
    }
}
