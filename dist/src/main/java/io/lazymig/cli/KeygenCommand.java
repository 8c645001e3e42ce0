package io.lazymig.cli;

import io.lazymig.protocol.KeyFile;
import java.io.PrintStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;

/**
 * {@code lazymig keygen FILE}: a key file, mode 0600, for --auth-key on both hosts: a random shared
 * secret and the TLS key pair and self-signed certificate both hosts present and pin ({@link KeyFile}).
 */
final class KeygenCommand implements Command {
    private final PrintStream out;

    KeygenCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "keygen";
    }

    @Override
    public String summary() {
        return "write a new shared key file for --auth-key (copy it to both hosts)";
    }

    @Override
    public int run(String[] args) throws Exception {
        if (args.length != 1 || args[0].startsWith("-")) {
            if (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help"))) {
                out.println("usage: lazymig keygen FILE");
                return 0;
            }
            throw new UsageException("usage: lazymig keygen FILE");
        }
        Path file = Path.of(args[0]);
        try {
            KeyFile.generate(file);
        } catch (FileAlreadyExistsException e) {
            throw new UsageException(file + " exists already; remove it first to make a new key");
        }
        out.println("keygen: wrote a key file (shared secret, EC P-256 key and certificate "
                + io.lazymig.protocol.AuthKey.load(file, true).tls().fingerprint() + ") to " + file
                + " (mode 0600); copy it to the other host");
        return 0;
    }
}
