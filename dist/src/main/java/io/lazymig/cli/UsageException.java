package io.lazymig.cli;

/** A command line that cannot be run as given: exit status 1 and one line of explanation. */
final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
