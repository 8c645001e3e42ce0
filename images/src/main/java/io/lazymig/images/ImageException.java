package io.lazymig.images;

import java.io.IOException;

/**
 * A checkpoint image is missing, malformed or inconsistent. The message names the file and what is
 * wrong, e.g. {@code "mm-42.img: entry 3 length 4294967295 beyond the 16 MiB bound"}.
 */
public final class ImageException extends IOException {
    private static final long serialVersionUID = 1L;

    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
