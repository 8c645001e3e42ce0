package io.lazymig.images;

import java.util.List;

/**
 * An epoll instance: the fds it watches, by fd number in the process (restore adds them once those
 * fds are back), and its file status flags.
 */
public record Epoll(int id, int flags, List<EpollWatch> watches) implements FileObject {
    public Epoll {
        FileObject.checkId(id);
        watches = List.copyOf(watches);
        for (int i = 0; i < watches.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (watches.get(i).fd() == watches.get(j).fd()) {
                    throw new IllegalArgumentException("epoll id " + id + " watches fd " + watches.get(i).fd() + " twice");
                }
            }
        }
    }

    @Override
    public String describe() {
        return "epoll (" + watches.size() + " watched fds)";
    }
}
