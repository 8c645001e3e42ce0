package io.lazymig.cli;

import io.lazymig.restore.InheritFd;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * External pipes: a pipe of the process whose other end lies outside it (a supervisor's pipe on
 * stdout, {@code cmd | tee}). {@code dump --external pipe:[INODE]} dumps it anyway, without its
 * data (which stays in this host's pipe); {@code restore --inherit-fd fd[N]:pipe:[INODE]} (an fd
 * restore is started with) or {@code PATH:pipe:[INODE]} says what it becomes. {@code migrate
 * --inherit-fd PATH:pipe:[INODE]} does both: the dump allows the pipe, the agent opens PATH on A.
 */
final class ExternalOptions {
    static final String EXTERNAL = "external";
    static final String INHERIT = "inherit-fd";
    private static final Pattern PIPE = Pattern.compile("pipe:\\[[0-9]{1,10}\\]");

    private ExternalOptions() {
    }

    static void addExternal(Options o) {
        o.addOption(Option.builder().longOpt(EXTERNAL).hasArg().argName("pipe:[INODE]")
                .desc("dump this pipe although a process outside the dump holds its other end; its data stays here, "
                        + "and restore needs --inherit-fd to connect it (repeatable)").build());
    }

    static void addInherit(Options o, boolean pathsOnly) {
        o.addOption(Option.builder().longOpt(INHERIT).hasArg().argName(pathsOnly ? "PATH:pipe:[INODE]" : "fd[N]:pipe:[INODE]")
                .desc(pathsOnly ? "the external pipe becomes PATH opened on the destination (a write end appends; "
                        + "the dump allows the pipe; repeatable)"
                        : "the external pipe becomes restore's own fd N, or PATH opened here (a write end appends); "
                        + "repeatable").build());
    }

    /** The --external pipes, checked. */
    static Set<String> externals(CommandLine cl) throws UsageException {
        Set<String> out = new LinkedHashSet<>();
        String[] values = cl.getOptionValues(EXTERNAL);
        if (values != null) {
            for (String v : values) {
                if (!PIPE.matcher(v).matches()) {
                    throw new UsageException("--external " + v + ": expected pipe:[INODE], as the dump's refusal names it");
                }
                out.add(v);
            }
        }
        return out;
    }

    /** The --inherit-fd entries, checked; {@code pathsOnly} refuses fd[N] (the agent has none of the operator's fds). */
    static List<InheritFd> inherit(CommandLine cl, boolean pathsOnly) throws UsageException {
        List<InheritFd> out = new ArrayList<>();
        String[] values = cl.getOptionValues(INHERIT);
        if (values != null) {
            for (String v : values) {
                InheritFd i;
                try {
                    i = InheritFd.parse(v);
                } catch (IllegalArgumentException e) {
                    throw new UsageException(e.getMessage());
                }
                if (pathsOnly && i.isFd()) {
                    throw new UsageException("--inherit-fd " + v + ": migrate names a PATH on the destination "
                            + "(the agent has no fds of yours)");
                }
                if (out.stream().anyMatch(x -> x.resource().equals(i.resource()))) {
                    throw new UsageException("--inherit-fd: " + i.resource() + " named twice");
                }
                out.add(i);
            }
        }
        return out;
    }
}
