package io.lazymig.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A fresh directory under /tmp, removed with its content on close. /tmp on purpose: the
 * criu-reference chroot bind-mounts it, so its crit sees the same paths.
 */
final class TmpDir implements AutoCloseable {
    final Path path;

    TmpDir(String prefix) throws IOException {
        this.path = Files.createTempDirectory(Path.of("/tmp"), prefix);
    }

    Path resolve(String name) {
        return path.resolve(name);
    }

    /** The names of the *.img files in {@code dir}, sorted. */
    static List<String> images(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".img")).sorted().toList();
        }
    }

    @Override
    public void close() throws IOException {
        try (Stream<Path> s = Files.walk(path)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
