package io.lazymig.cli;

import io.lazymig.protocol.AuthKey;
import io.lazymig.protocol.TlsWarmup;
import java.io.IOException;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * --auth-key FILE (default /etc/lazymig/auth.key), --no-encryption and --no-auth, the last two
 * said explicitly and warned about at every start. Connections are TLS 1.3 with the key file's
 * pinned certificate by default; --no-encryption keeps the key's handshake over plain TCP;
 * --no-auth has no key, so no encryption either.
 */
final class AuthOptions {
    private AuthOptions() {
    }

    static void add(Options o) {
        o.addOption(Option.builder().longOpt("auth-key").hasArg().argName("FILE")
                .desc("key file made by 'lazymig keygen', the same on both hosts (default " + AuthKey.DEFAULT_PATH + ")")
                .build());
        o.addOption(Option.builder().longOpt("no-encryption")
                .desc("send pages and images in the clear (plain TCP; the key still authenticates); both ends must say it")
                .build());
        o.addOption(Option.builder().longOpt("no-auth").desc("run without authentication (and without encryption)").build());
    }

    /** The key (with its TLS identity unless --no-encryption), or null with --no-auth. */
    static AuthKey key(CommandLine cl) throws UsageException, IOException {
        // looked up here, not in a static field: add() runs before -v/-o configure the logging, and the
        // simple logger takes its settings from the first logger made
        Logger log = LoggerFactory.getLogger("lazymig.security");
        if (cl.hasOption("no-auth")) {
            if (cl.hasOption("auth-key")) {
                throw new UsageException("--auth-key and --no-auth exclude each other");
            }
            log.warn("WARNING: --no-auth: connections are neither authenticated nor encrypted; anyone on the network "
                    + "can read and alter the pages");
            return null;
        }
        Path file = cl.hasOption("auth-key") ? Path.of(cl.getOptionValue("auth-key")) : AuthKey.DEFAULT_PATH;
        boolean encryption = !cl.hasOption("no-encryption");
        if (!encryption) {
            log.warn("WARNING: --no-encryption: pages and images cross the network in the clear (authenticated, "
                    + "not encrypted); the other end must run with --no-encryption too");
        }
        AuthKey key = AuthKey.load(file, encryption);
        TlsWarmup.inBackground(key); // the JIT's AES-GCM code compiled before the first page goes
        return key;
    }
}
