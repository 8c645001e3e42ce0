package io.lazymig.protocol;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The TLS part of a key file: one key pair and its self-signed certificate, the same on both
 * hosts. Each end presents that certificate and trusts exactly it (pinned by its SHA-256), so a
 * connection is let in only by a peer that proves it holds the key file's private key: mutual
 * TLS 1.3 with nothing but the one file copied between the hosts.
 */
public final class TlsIdentity {
    /** TLS 1.3 only; AES-GCM (AES-NI) first. */
    public static final String PROTOCOL = "TLSv1.3";
    public static final String[] CIPHERS = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"};
    static final String KEY_BEGIN = "-----BEGIN PRIVATE KEY-----";
    static final String KEY_END = "-----END PRIVATE KEY-----";
    static final String CERT_BEGIN = "-----BEGIN CERTIFICATE-----";
    static final String CERT_END = "-----END CERTIFICATE-----";

    private final PrivateKey privateKey;
    private final X509Certificate certificate;
    private final byte[] pin;
    private final SSLContext context;

    private TlsIdentity(PrivateKey privateKey, X509Certificate certificate) throws GeneralSecurityException {
        this.privateKey = privateKey;
        this.certificate = certificate;
        this.pin = sha256(certificate.getEncoded());
        this.context = SSLContext.getInstance(PROTOCOL);
        context.init(new javax.net.ssl.KeyManager[] {new OwnKey()}, new javax.net.ssl.TrustManager[] {new Pinned()},
                new SecureRandom());
    }

    /** Reads the private key and certificate blocks of a key file's text; a file without them is refused. */
    static TlsIdentity parse(Path file, byte[] bytes) throws IOException {
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        byte[] key = block(text, KEY_BEGIN, KEY_END);
        byte[] cert = block(text, CERT_BEGIN, CERT_END);
        if (key == null || cert == null) {
            throw new IOException("key file " + file + " has no TLS key and certificate (made by an older lazymig): run "
                    + "'lazymig keygen NEWFILE' again and copy it to both hosts, or pass --no-encryption on both");
        }
        try {
            X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(cert));
            PrivateKey k = KeyFactory.getInstance(c.getPublicKey().getAlgorithm()).generatePrivate(new PKCS8EncodedKeySpec(key));
            return new TlsIdentity(k, c);
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new IOException("key file " + file + ": its TLS key or certificate is damaged (" + e.getMessage()
                    + "); run 'lazymig keygen NEWFILE' again", e);
        }
    }

    /** The DER bytes between a PEM block's markers, or null when the text has no such block. */
    static byte[] block(String text, String begin, String end) throws IOException {
        int b = text.indexOf(begin);
        int e = b < 0 ? -1 : text.indexOf(end, b);
        if (b < 0 || e < 0) {
            return null;
        }
        try {
            return Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
        } catch (IllegalArgumentException x) {
            throw new IOException("a " + begin + " block that is not base64");
        }
    }

    static String pem(String begin, String end, byte[] der) {
        return begin + "\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der) + "\n" + end + "\n";
    }

    /** A new engine for one connection: TLS 1.3 only, AES-GCM, the peer's certificate required both ways. */
    SSLEngine engine(boolean client) {
        SSLEngine e = context.createSSLEngine();
        e.setUseClientMode(client);
        e.setEnabledProtocols(new String[] {PROTOCOL});
        e.setEnabledCipherSuites(CIPHERS);
        if (!client) {
            e.setNeedClientAuth(true);
        }
        return e;
    }

    /** The pinned certificate's SHA-256, first 8 bytes in hex (for logs and {@code lazymig check}). */
    public String fingerprint() {
        return hex(pin, 8);
    }

    /** The certificate's key and signature algorithms, e.g. "EC, SHA256withECDSA". */
    public String describe() {
        return certificate.getPublicKey().getAlgorithm() + " key, " + certificate.getSigAlgName() + " certificate "
                + fingerprint();
    }

    static String hex(byte[] b, int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) {
            s.append(String.format("%02x", b[i] & 0xff));
        }
        return s.toString();
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    /** Presents the key file's certificate, whatever the peer asks for. */
    private final class OwnKey extends X509ExtendedKeyManager {
        private static final String ALIAS = "lazymig";

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {ALIAS};
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return ALIAS;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return ALIAS;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return new String[] {ALIAS};
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return ALIAS;
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return ALIAS;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return new X509Certificate[] {certificate};
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return privateKey;
        }
    }

    /** Trusts exactly the key file's certificate: the peer must present the same one (and prove its key). */
    private final class Pinned extends X509ExtendedTrustManager {
        private void check(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("the peer presented no certificate");
            }
            byte[] theirs = sha256(chain[0].getEncoded());
            if (!MessageDigest.isEqual(theirs, pin)) {
                throw new CertificateException("the peer's certificate " + hex(theirs, 8) + " is not this key file's "
                        + fingerprint() + ": the hosts hold different key files");
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[] {certificate};
        }
    }
}
