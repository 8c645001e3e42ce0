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
            out.println("usage: lazymig check");
            out.println("Probes each kernel feature lazymig needs and prints OK or why it fails; exit 0 when all are OK.");
            return 0;
        }
        if (args.length > 0) {
            throw new UsageException("check takes no arguments (got '" + args[0] + "')");
        }
        List<Probe.Result> results = new ArrayList<>();
        for (Probe p : Probes.all()) {
            Probe.Result r = p.run();
            results.add(r);
            out.printf("%-58s %s%n", p.name(), r.ok() ? "OK" : "FAIL: " + r.detail());
        }
        boolean allOk = results.stream().allMatch(Probe.Result::ok);
        out.println(allOk ? "Looks good." : "Some capabilities are missing: see the lines above.");
        return allOk ? 0 : 1;
    }
}
