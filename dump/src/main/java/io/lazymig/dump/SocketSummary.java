package io.lazymig.dump;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.FileObject;
import io.lazymig.images.InetSocket;

/** What a dump's summary line says about sockets: how many TCP connections are restored closed. */
public final class SocketSummary {
    private SocketSummary() {
    }

    /** The TCP connections of {@code cp} that restore closes (CRIU's --tcp-close). */
    public static int closedConnections(Checkpoint cp) {
        int n = 0;
        for (FileObject f : cp.files()) {
            if (f instanceof InetSocket s && s.isConnectedStream() && !s.isCarriedAlive()) {
                n++;
            }
        }
        return n;
    }

    /** The established TCP connections of {@code cp} carried alive (dump --tcp-established). */
    public static int carriedConnections(Checkpoint cp) {
        int n = 0;
        for (FileObject f : cp.files()) {
            if (f instanceof InetSocket s && s.isCarriedAlive()) {
                n++;
            }
        }
        return n;
    }

    /** ", 2 TCP connection(s) closed" (and ", 1 carried alive") for the summary line, or "" when there is none. */
    public static String of(Checkpoint cp) {
        int n = closedConnections(cp);
        int alive = carriedConnections(cp);
        return (n == 0 ? "" : ", " + n + " TCP connection(s) closed (restored closed: the application sees them fail)")
                + (alive == 0 ? "" : ", " + alive + " TCP connection(s) carried alive (--tcp-established)");
    }
}
