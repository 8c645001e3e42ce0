package io.lazymig.cli;

/** One capability check of {@code lazymig check}: a name and a body that throws when it fails. */
final class Probe {
    /** The outcome: ok, or the reason in one line. */
    record Result(boolean ok, String detail) {
    }

    interface Body {
        void run() throws Exception;
    }

    private final String name;
    private final Body body;

    Probe(String name, Body body) {
        this.name = name;
        this.body = body;
    }

    String name() {
        return name;
    }

    Result run() {
        try {
            body.run();
            return new Result(true, "");
        } catch (Exception | LinkageError e) {
            return new Result(false, Main.describe(e));
        }
    }
}
