package io.lazymig.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ByteChannel;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * The hello of a connection: magic, version and capabilities both ways, and with a key on both
 * sides an HMAC-SHA256 challenge-response that proves each side holds the same key without
 * sending it (PROTOCOL.md). A wrong or missing key is refused with a clear message on both sides.
 */
public final class Handshake {
    public static final int MAGIC = 0x474d5a4c; // "LZMG" in little-endian bytes
    public static final int VERSION = 1;
    public static final int CAPABILITIES = 0;
    /**
     * In a client's hello: this connection is the fault channel of a client connected already (it
     * carries only requests a thread waits on, and their replies); the server answers it as any
     * other but does not count it as a client of its own.
     */
    public static final int FAULT_CHANNEL = 1;
    private static final int NONCE = 32;
    private static final int AUTH_NONE = 0;
    private static final int AUTH_HMAC = 1;
    private static final byte[] SERVER_LABEL = "lazymig-server".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLIENT_LABEL = "lazymig-client".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What the server says about its checkpoint in WELCOME. */
    public record Welcome(int pid, long lazyPages) {
    }

    private Handshake() {
    }

    /** Client side; {@code key} null means --no-auth. Returns the server's WELCOME. */
    public static Welcome client(ByteChannel ch, FrameCodec codec, AuthKey key, String server) throws IOException {
        return client(ch, codec, key, server, CAPABILITIES);
    }

    /** As {@link #client(ByteChannel, FrameCodec, AuthKey, String)}, with capability bits in the hello (e.g. {@link #FAULT_CHANNEL}). */
    public static Welcome client(ByteChannel ch, FrameCodec codec, AuthKey key, String server, int capabilities)
            throws IOException {
        byte[] clientNonce = nonce();
        ByteBuffer hello = le(4 + 2 + 2 + 4 + NONCE).putInt(MAGIC).putShort((short) VERSION)
                .putShort((short) (key == null ? AUTH_NONE : AUTH_HMAC)).putInt(capabilities).put(clientNonce).flip();
        codec.write(ch, FrameType.HELLO, 0, 0, hello);
        Frame f = expect(codec.read(ch, 256), FrameType.CHALLENGE, server);
        ByteBuffer p = f.payload();
        if (p.remaining() != 2 + 2 + 4 + 2 * NONCE) {
            throw new ProtocolException(server + " is not a lazymig server (a challenge of " + p.remaining() + " bytes)");
        }
        int version = p.getShort() & 0xffff;
        int authMode = p.getShort() & 0xffff;
        p.getInt(); // capabilities
        byte[] serverNonce = new byte[NONCE];
        byte[] serverProof = new byte[NONCE];
        p.get(serverNonce).get(serverProof);
        if (version != VERSION) {
            throw new ProtocolException(server + " speaks protocol version " + version + ", this lazymig speaks " + VERSION);
        }
        if (key != null && authMode != AUTH_HMAC) {
            codec.write(ch, FrameType.ERROR, 0, 0, Errors.encode(Errors.REFUSED,
                    "authentication required by the client, but this server runs with --no-auth"));
            throw new ProtocolException(server + " runs without authentication (--no-auth): refusing to take pages "
                    + "from it; use --no-auth on both sides or give both the same --auth-key");
        }
        if (key != null && !AuthKey.sameMac(serverProof, key.mac(SERVER_LABEL, clientNonce, serverNonce))) {
            codec.write(ch, FrameType.ERROR, 0, 0, Errors.encode(Errors.REFUSED,
                    "authentication failed: the client holds a different key"));
            throw new ProtocolException(server + " holds a different key: authentication failed (check --auth-key on both hosts)");
        }
        byte[] proof = key == null ? new byte[NONCE] : key.mac(CLIENT_LABEL, serverNonce, clientNonce);
        codec.write(ch, FrameType.AUTH, 0, 0, ByteBuffer.wrap(proof));
        Frame w = expect(codec.read(ch, 1024), FrameType.WELCOME, server);
        if (w.payload().remaining() < 12) {
            throw new ProtocolException(server + " sent a welcome of " + w.payload().remaining() + " bytes");
        }
        return new Welcome(w.payload().getInt(), w.payload().getLong());
    }

    /** Server side; {@code key} null means --no-auth. Returns the client's capability bits when it is let in. */
    public static int server(ByteChannel ch, FrameCodec codec, AuthKey key, Welcome welcome, String client) throws IOException {
        int caps = authenticate(ch, codec, key, client);
        welcome(ch, codec, welcome);
        return caps;
    }

    /**
     * The server's side up to the client's proof checked, without the WELCOME: a server that has
     * no checkpoint yet (migrate, before the freeze) lets a client authenticate early and sends
     * {@link #welcome} once it has one. The client waits for it in its {@link #client} call.
     * Returns the client's capability bits.
     */
    public static int authenticate(ByteChannel ch, FrameCodec codec, AuthKey key, String client) throws IOException {
        Frame hello = expect(codec.read(ch, 256), FrameType.HELLO, client);
        ByteBuffer p = hello.payload();
        if (p.remaining() < 12 + NONCE || p.getInt() != MAGIC) {
            throw new ProtocolException(client + " is not a lazymig client (bad hello)");
        }
        int version = p.getShort() & 0xffff;
        int authMode = p.getShort() & 0xffff;
        int clientCapabilities = p.getInt();
        byte[] clientNonce = new byte[NONCE];
        p.get(clientNonce);
        if (version != VERSION) {
            refuse(ch, codec, "protocol version " + version + " is not supported; this server speaks " + VERSION);
        }
        if (key != null && authMode != AUTH_HMAC) {
            refuse(ch, codec, "authentication required: the client has no key (give it --auth-key)");
        }
        byte[] serverNonce = nonce();
        byte[] proof = key == null ? new byte[NONCE] : key.mac(SERVER_LABEL, clientNonce, serverNonce);
        ByteBuffer challenge = le(2 + 2 + 4 + 2 * NONCE).putShort((short) VERSION)
                .putShort((short) (key == null ? AUTH_NONE : AUTH_HMAC)).putInt(CAPABILITIES).put(serverNonce).put(proof).flip();
        codec.write(ch, FrameType.CHALLENGE, 0, 0, challenge);
        Frame auth;
        try {
            auth = expect(codec.read(ch, 256), FrameType.AUTH, client);
        } catch (java.io.EOFException e) {
            throw new ProtocolException(client + " hung up during authentication (it refused our key or our --no-auth)");
        }
        byte[] clientProof = new byte[NONCE];
        if (auth.payload().remaining() != NONCE) {
            throw new ProtocolException(client + " sent a malformed AUTH frame");
        }
        auth.payload().get(clientProof);
        if (key != null && !AuthKey.sameMac(clientProof, key.mac(CLIENT_LABEL, serverNonce, clientNonce))) {
            refuse(ch, codec, "authentication failed: wrong key");
        }
        return clientCapabilities;
    }

    /** The handshake's last frame, to a client {@link #authenticate}d: what the server serves. */
    public static void welcome(ByteChannel ch, FrameCodec codec, Welcome welcome) throws IOException {
        codec.write(ch, FrameType.WELCOME, 0, 0, le(12).putInt(welcome.pid()).putLong(welcome.lazyPages()).flip());
    }

    private static void refuse(ByteChannel ch, FrameCodec codec, String why) throws IOException {
        codec.write(ch, FrameType.ERROR, 0, 0, Errors.encode(Errors.REFUSED, why));
        throw new ProtocolException("client refused: " + why);
    }

    /** The frame if it has the expected type; an ERROR frame becomes the peer's message. */
    static Frame expect(Frame f, FrameType want, String peer) throws ProtocolException {
        if (f.type() == FrameType.ERROR) {
            throw new ProtocolException(peer + " refused: " + Errors.decode(f.payload()).message());
        }
        if (f.type() != want) {
            throw new ProtocolException(peer + " sent " + f.type() + " where " + want + " belongs");
        }
        return f;
    }

    private static byte[] nonce() {
        byte[] n = new byte[NONCE];
        RANDOM.nextBytes(n);
        return n;
    }

    static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
