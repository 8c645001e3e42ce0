package io.lazymig.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Writes a key file for {@code lazymig keygen}: a text file, mode 0600, holding a random shared
 * secret and an EC P-256 key pair with its self-signed certificate (PEM blocks). Its bytes are the
 * HMAC key of the handshake ({@link AuthKey}); its key and certificate are the TLS identity both
 * hosts present and pin ({@link TlsIdentity}). The certificate is made by the JDK's own keytool
 * (no certificate code of ours, no extra library), in a private temporary directory.
 */
public final class KeyFile {
    static final String SECRET_BEGIN = "-----BEGIN LAZYMIG SECRET-----";
    static final String SECRET_END = "-----END LAZYMIG SECRET-----";
    private static final long KEYTOOL_SECONDS = 60;

    private KeyFile() {
    }

    /** Writes a new key file (refuses to overwrite one). */
    public static void generate(Path file) throws IOException {
        if (Files.exists(file)) {
            throw new java.nio.file.FileAlreadyExistsException(file.toString());
        }
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        Pair pair = keytool();
        String text = "# lazymig key file: keep it mode 0600, readable by root only; the same file on both hosts\n"
                + TlsIdentity.pem(SECRET_BEGIN, SECRET_END, secret)
                + TlsIdentity.pem(TlsIdentity.KEY_BEGIN, TlsIdentity.KEY_END, pair.key().getEncoded())
                + TlsIdentity.pem(TlsIdentity.CERT_BEGIN, TlsIdentity.CERT_END, pair.certificate());
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
    }

    private record Pair(PrivateKey key, byte[] certificate) {
    }

    /** keytool -genkeypair into a throwaway PKCS#12 store (its password passed in the environment), read back. */
    private static Pair keytool() throws IOException {
        Path dir = Files.createTempDirectory("lazymig-keygen-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            Path store = dir.resolve("key.p12");
            byte[] pw = new byte[18];
            new SecureRandom().nextBytes(pw);
            String password = Base64.getUrlEncoder().withoutPadding().encodeToString(pw);
            Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
            ProcessBuilder pb = new ProcessBuilder(List.of(keytool.toString(), "-genkeypair", "-alias", "lazymig",
                    "-keyalg", "EC", "-groupname", "secp256r1", "-sigalg", "SHA256withECDSA", "-dname", "CN=lazymig",
                    "-validity", "36500", "-storetype", "PKCS12", "-keystore", store.toString(),
                    "-storepass:env", "LAZYMIG_KEYGEN_PW", "-keypass:env", "LAZYMIG_KEYGEN_PW"));
            pb.environment().put("LAZYMIG_KEYGEN_PW", password);
            pb.redirectErrorStream(true);
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new IOException("cannot run " + keytool + " (the JDK's keytool makes the certificate): "
                        + e.getMessage(), e);
            }
            p.getOutputStream().close();
            byte[] output;
            try (InputStream in = p.getInputStream()) {
                output = in.readAllBytes();
            }
            if (!p.waitFor(KEYTOOL_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(keytool + " did not finish within " + KEYTOOL_SECONDS + " s");
            }
            if (p.exitValue() != 0) {
                throw new IOException(keytool + " failed (exit " + p.exitValue() + "): "
                        + new String(output, StandardCharsets.UTF_8).strip().replace('\n', ' '));
            }
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                ks.load(in, password.toCharArray());
            }
            PrivateKey key = (PrivateKey) ks.getKey("lazymig", password.toCharArray());
            Certificate cert = ks.getCertificate("lazymig");
            return new Pair(key, cert.getEncoded());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while keytool ran", e);
        } catch (GeneralSecurityException e) {
            throw new IOException("keytool's key store cannot be read: " + e.getMessage(), e);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(q);
                }
            }
        }
    }
}
