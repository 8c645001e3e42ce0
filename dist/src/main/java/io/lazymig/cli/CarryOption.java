package io.lazymig.cli;

import io.lazymig.dump.Dumper;
import io.lazymig.images.CarriedFile;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code --carry-limit SIZE} of dump and migrate: the regular files the process has open or mapped
 * of at most SIZE bytes travel with the images, and restore recreates those missing on its host
 * (a JVM's /tmp/hsperfdata_USER/PID is one). SIZE is bytes, or with a K or M suffix (KiB, MiB); 0
 * carries none. Default 1M.
 */
final class CarryOption {
    static final String NAME = "carry-limit";

    private CarryOption() {
    }

    static void add(Options o) {
        o.addOption(Option.builder().longOpt(NAME).hasArg().argName("SIZE")
                .desc("files the process has open or mapped of at most SIZE bytes (K, M suffixes) travel with the images; "
                        + "restore recreates those missing on its host (default 1M; 0: none; at most "
                        + CarriedFile.MAX_BYTES / 1024 + "K)")
                .build());
    }

    static long limit(CommandLine cl) throws UsageException {
        if (!cl.hasOption(NAME)) {
            return Dumper.DEFAULT_CARRY_LIMIT;
        }
        String v = cl.getOptionValue(NAME).trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        if (v.endsWith("K") || v.endsWith("M")) {
            unit = v.endsWith("K") ? 1024 : 1024 * 1024;
            v = v.substring(0, v.length() - 1);
        }
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + NAME + ": not a size: '" + cl.getOptionValue(NAME) + "'");
        }
        if (n < 0 || n > CarriedFile.MAX_BYTES / unit) {
            throw new UsageException("--" + NAME + ": must be 0.." + CarriedFile.MAX_BYTES + " bytes, got '"
                    + cl.getOptionValue(NAME) + "'");
        }
        return n * unit;
    }
}
