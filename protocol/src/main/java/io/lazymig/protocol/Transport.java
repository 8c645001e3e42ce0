package io.lazymig.protocol;

import java.io.IOException;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;

/**
 * How a connection's bytes go over the wire, the one place the two ways differ: TLS 1.3 with the
 * key file's pinned certificate (the default), or plain TCP (--no-encryption, or --no-auth, which
 * has no key to encrypt with). Every lazymig connection is opened through it, after connect or
 * accept and before the lazymig handshake, under that handshake's deadline. The channel returned
 * is what the frame codec reads and writes; the socket stays its owner's (deadlines, close).
 */
public final class Transport {
    public static final Transport PLAIN = new Transport(null);

    private final TlsIdentity tls;

    private Transport(TlsIdentity tls) {
        this.tls = tls;
    }

    /** TLS when the key was loaded with its TLS part, plain otherwise (null: --no-auth). */
    public static Transport of(AuthKey key) {
        return key == null || key.tls() == null ? PLAIN : new Transport(key.tls());
    }

    public boolean encrypted() {
        return tls != null;
    }

    /** The client's side of a connected socket: the TLS handshake run, or the socket itself. */
    public ByteChannel client(SocketChannel ch, String peer) throws IOException {
        return tls == null ? ch : TlsChannel.handshake(ch, tls.engine(true), peer);
    }

    /** The server's side of an accepted socket: the TLS handshake run, or the socket checked for a TLS client. */
    public ByteChannel server(SocketChannel ch, String peer) throws IOException {
        return tls == null ? PlainChannel.server(ch, peer) : TlsChannel.handshake(ch, tls.engine(false), peer);
    }

    @Override
    public String toString() {
        return tls == null ? "plain TCP (no encryption)" : "TLS 1.3 (" + tls.describe() + ")";
    }
}
