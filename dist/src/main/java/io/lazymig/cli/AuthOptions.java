package io.lazymig.cli;

import io.lazymig.protocol.AuthKey;
import java.io.IOException;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** --auth-key FILE (default /etc/lazymig/auth.key) and --no-auth, which must be said explicitly. */
final class AuthOptions {
    private AuthOptions() {
    }

    static void add(Options o) {
        o.addOption(Option.builder().longOpt("auth-key").hasArg().argName("FILE")
                .desc("shared key file, at least 16 bytes (default " + AuthKey.DEFAULT_PATH + ")").build());
        o.addOption(Option.builder().longOpt("no-auth").desc("run without authentication").build());
    }

    /** The key, or null with --no-auth. */
    static AuthKey key(CommandLine cl) throws UsageException, IOException {
        if (cl.hasOption("no-auth")) {
            if (cl.hasOption("auth-key")) {
                throw new UsageException("--auth-key and --no-auth exclude each other");
            }
            return null;
        }
        return AuthKey.load(cl.hasOption("auth-key") ? Path.of(cl.getOptionValue("auth-key")) : AuthKey.DEFAULT_PATH);
    }
}
