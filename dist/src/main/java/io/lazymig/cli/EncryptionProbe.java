package io.lazymig.cli;

import io.lazymig.protocol.TlsIdentity;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/** {@code lazymig check}'s encryption lines: TLS 1.3 with AES-GCM in this JDK, and the key file's mode. */
final class EncryptionProbe {
    private EncryptionProbe() {
    }

    /** TLS 1.3 and its AES-GCM suites offered by the JDK (an engine made with them), whether AES-NI is used said. */
    static String tls() throws Exception {
        SSLContext c = SSLContext.getInstance(TlsIdentity.PROTOCOL);
        c.init(null, null, null);
        SSLEngine e = c.createSSLEngine();
        List<String> supported = Arrays.asList(e.getSupportedCipherSuites());
        for (String s : TlsIdentity.CIPHERS) {
            if (!supported.contains(s)) {
                throw new IOException("this JDK's TLS offers no " + s);
            }
        }
        e.setEnabledProtocols(new String[] {TlsIdentity.PROTOCOL});
        e.setEnabledCipherSuites(TlsIdentity.CIPHERS);
        String aes = "?";
        try {
            aes = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
                    .getVMOption("UseAES").getValue(); // AES-NI found and used by the JIT's intrinsics
        } catch (RuntimeException | LinkageError x) {
            // not HotSpot: unknown
        }
        return TlsIdentity.CIPHERS[0] + ", AES-NI " + ("true".equals(aes) ? "used" : aes.equals("?") ? "unknown"
                : "not used (slow)");
    }

    /** The key file: present, owned by root, no group or other permission; null when it is as it should be. */
    static String keyFileProblem(Path file) throws IOException {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return "absent (make one with 'lazymig keygen " + file + "' and copy it to the other host)";
        }
        PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class);
        Set<PosixFilePermission> p = a.permissions();
        boolean others = p.contains(PosixFilePermission.GROUP_READ) || p.contains(PosixFilePermission.OTHERS_READ)
                || p.contains(PosixFilePermission.GROUP_WRITE) || p.contains(PosixFilePermission.OTHERS_WRITE);
        if (!a.owner().getName().equals("root") || others) {
            return "readable or writable by others than root (owner " + a.owner().getName() + ", mode "
                    + java.nio.file.attribute.PosixFilePermissions.toString(p) + "): chmod 600 and chown root " + file;
        }
        return null;
    }
}
