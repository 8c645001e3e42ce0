package io.lazymig.images;

/**
 * One fd an epoll instance watches: its number in the process, the events asked for (EPOLLIN ...,
 * with EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE kept) and the data epoll_wait hands back.
 */
public record EpollWatch(int fd, int events, long data) {
    public EpollWatch {
        if (fd < 0) {
            throw new IllegalArgumentException("epoll watch of negative fd " + fd);
        }
    }
}
