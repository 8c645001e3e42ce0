package io.lazymig.cli;

/** One subcommand of {@code lazymig}: parses its own arguments and returns the exit status. */
interface Command {
    /** The name on the command line, e.g. "dump". */
    String name();

    /** One line for {@code lazymig --help}. */
    String summary();

    /** Runs with the arguments after the subcommand name; returns the process exit status. */
    int run(String[] args) throws Exception;
}
