package io.lazymig.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code lazymig check}: one line per capability lazymig needs, OK or the reason it fails.
 * Exit 0 only when everything is there. Each probe does the real thing on a throwaway object.
 */
final class CheckCommand implements Command {
    private final PrintStream out;

    CheckCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "check";
    }

    @Override
    public String summary() {
        return "check that this kernel and these privileges can do everything lazymig needs";
    }

    @Override
    public int run(String[] args) throws UsageException {
        if (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help"))) {
            out.println("usage: lazymig check [--auth-key FILE]");
            out.println("Probes each kernel feature lazymig needs and prints OK or why it fails; exit 0 when all are OK.");
            return 0;
        }
        java.nio.file.Path keyFile = io.lazymig.protocol.AuthKey.DEFAULT_PATH;
        if (args.length == 2 && args[0].equals("--auth-key")) {
            keyFile = java.nio.file.Path.of(args[1]);
        } else if (args.length > 0) {
            throw new UsageException("check takes only --auth-key FILE (got '" + args[0] + "')");
        }
        List<Probe.Result> results = new ArrayList<>();
        for (Probe p : Probes.all()) {
            Probe.Result r = p.run();
            results.add(r);
            out.printf("%-58s %s%n", p.name(), r.ok() ? "OK" : "FAIL: " + r.detail());
        }
        String[] tls = {""};
        Probe encryption = new Probe("encryption: TLS 1.3 with AES-GCM (the default transport)",
                () -> tls[0] = EncryptionProbe.tls());
        Probe.Result er = encryption.run();
        results.add(er);
        out.printf("%-58s %s%n", encryption.name(), er.ok() ? "OK (" + tls[0] + ")" : "FAIL: " + er.detail());
        // The key file is configuration, not a capability: absent is said, only a mode others can read fails.
        String problem;
        try {
            problem = EncryptionProbe.keyFileProblem(keyFile);
        } catch (java.io.IOException e) {
            problem = "cannot be read: " + e.getMessage();
        }
        boolean absent = problem != null && problem.startsWith("absent");
        results.add(new Probe.Result(problem == null || absent, String.valueOf(problem)));
        out.printf("%-58s %s%n", "key file " + keyFile + " readable by root only",
                problem == null ? "OK" : absent ? "NOTE: " + problem : "FAIL: " + problem);
        boolean allOk = results.stream().allMatch(Probe.Result::ok);
        out.println(allOk ? "Looks good." : "Some capabilities are missing: see the lines above.");
        return allOk ? 0 : 1;
    }
}
