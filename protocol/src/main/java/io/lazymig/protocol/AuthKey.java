package io.lazymig.protocol;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The shared key both hosts hold: any file of at least {@value #MIN_BYTES} bytes, its bytes are
 * the key of the HMAC handshake. {@code lazymig keygen FILE} ({@link KeyFile}) writes a random
 * secret and the TLS key pair and certificate ({@link TlsIdentity}) both hosts present; loaded for
 * encryption, a file without them is refused with the advice to run keygen again.
 */
public final class AuthKey {
    public static final int MIN_BYTES = 16;
    public static final Path DEFAULT_PATH = Path.of("/etc/lazymig/auth.key");

    private final byte[] key;
    private final TlsIdentity tls;

    private AuthKey(byte[] key, TlsIdentity tls) {
        this.key = key;
        this.tls = tls;
    }

    /** The key for the handshake only (connections without encryption). */
    public static AuthKey load(Path file) throws IOException {
        return load(file, false);
    }

    /** The key; with {@code encryption} also its TLS identity, which the file must hold. */
    public static AuthKey load(Path file, boolean encryption) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException("key file " + file + " does not exist: make one on one host with 'lazymig keygen "
                    + file + "', copy it to the other, or pass --no-auth to run without authentication");
        }
        if (bytes.length < MIN_BYTES) {
            throw new IOException("key file " + file + " holds " + bytes.length + " bytes; at least " + MIN_BYTES
                    + " are needed ('lazymig keygen " + file + "' writes a good one)");
        }
        return new AuthKey(bytes, encryption ? TlsIdentity.parse(file, bytes) : null);
    }

    /** The TLS identity, or null when loaded for connections without encryption. */
    public TlsIdentity tls() {
        return tls;
    }

    /**
     * Writes 32 random bytes to {@code file} with mode 0600 (refuses to overwrite): a key for the
     * handshake only, without encryption (the loopback warm-up; tests); keygen writes {@link KeyFile}s.
     */
    public static void generate(Path file) throws IOException {
        byte[] bytes = new byte[32];
        new SecureRandom().nextBytes(bytes);
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        Files.write(file, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    /** HMAC-SHA256 of the parts, in order. */
    byte[] mac(byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            for (byte[] p : parts) {
                mac.update(p);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /**
     * Names the key without revealing it: the first 8 bytes of HMAC-SHA256(key, "lazymig-key-id"),
     * in hex, e.g. for the logs to say which key a peer proved it holds.
     */
    public String fingerprint() {
        byte[] m = mac("lazymig-key-id".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            b.append(String.format("%02x", m[i] & 0xff));
        }
        return b.toString();
    }

    static boolean sameMac(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    @Override
    public String toString() {
        return "AuthKey(" + key.length + " bytes)";
    }
}
