package io.lazymig.restore;

import io.lazymig.images.CarriedFile;
import io.lazymig.images.Checkpoint;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files that travelled with the images ({@link CarriedFile}) recreated where they are missing on
 * this host, before anything opens or maps them: the content of the freeze, its permission bits and
 * owner; missing parent directories are made (mode 0755, the file's owner). A file that exists is
 * used as it is here. Runs in restore itself, not in the stub, once the stub holds the process's
 * pid: any JVM starting on the host deletes /tmp/hsperfdata_USER/PID files whose PID is not alive. {@link #undo} removes what it made
 * when the restore fails.
 */
final class CarriedFilesStep {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");
    private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwxr-xr-x");

    /** What was made, deepest last: files and directories, for {@link #undo}. */
    private final List<Path> made = new ArrayList<>();

    /** Recreates every carried file missing here; returns how many it made. */
    int recreateMissing(Checkpoint cp) throws IOException {
        int n = 0;
        for (CarriedFile f : cp.carried()) {
            Path path = Path.of(f.path());
            if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            try {
                makeParents(path.getParent(), f);
                Files.write(path, f.content(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                made.add(path);
                Files.setAttribute(path, "unix:mode", f.mode());
                Files.setAttribute(path, "unix:uid", f.uid());
                Files.setAttribute(path, "unix:gid", f.gid());
            } catch (FileAlreadyExistsException e) {
                continue; // made meanwhile by someone else: theirs is used
            } catch (IOException e) {
                throw new RestoreException("cannot recreate " + f.path() + " (missing on this host, " + f.size()
                        + " bytes in the images): " + e.getMessage(), e);
            }
            log.info("restore: recreated {} ({} bytes, mode 0{}) from the images: it was missing on this host", f.path(),
                    f.size(), Integer.toOctalString(f.mode()));
            n++;
        }
        return n;
    }

    private void makeParents(Path dir, CarriedFile f) throws IOException {
        if (dir == null || Files.isDirectory(dir)) {
            return;
        }
        makeParents(dir.getParent(), f);
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
        } catch (FileAlreadyExistsException e) {
            return;
        }
        made.add(dir);
        Files.setAttribute(dir, "unix:uid", f.uid());
        Files.setAttribute(dir, "unix:gid", f.gid());
    }

    /** Removes what {@link #recreateMissing} made (a failed restore leaves nothing behind). */
    void undo() {
        for (int i = made.size() - 1; i >= 0; i--) {
            try {
                Files.deleteIfExists(made.get(i));
            } catch (IOException e) {
                log.warn("restore: could not remove {} again: {}", made.get(i), e.getMessage());
            }
        }
        made.clear();
    }
}
