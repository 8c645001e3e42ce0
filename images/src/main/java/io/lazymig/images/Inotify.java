package io.lazymig.images;

import java.util.List;

/**
 * An inotify instance: its watches, ascending by watch descriptor (restore must hand them out in
 * that order to get the same numbers), and its file status flags. Events queued at dump are not
 * part of it: they are lost, as with CRIU.
 */
public record Inotify(int id, int flags, List<InotifyWatch> watches) implements FileObject {
    public Inotify {
        FileObject.checkId(id);
        watches = List.copyOf(watches);
        for (int i = 1; i < watches.size(); i++) {
            if (watches.get(i).wd() <= watches.get(i - 1).wd()) {
                throw new IllegalArgumentException("inotify id " + id + ": watch descriptors not ascending ("
                        + watches.get(i - 1).wd() + " then " + watches.get(i).wd() + ")");
            }
        }
    }

    @Override
    public String describe() {
        return "inotify (" + watches.size() + " watches)";
    }
}
