package io.lazymig.images;

import io.lazymig.images.proto.pipe_data_entry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The buffers of the checkpoint's pipes and FIFOs ↔ pipes-data.img and fifo-data.img: one
 * pipe_data_entry per pipe (keyed by pipe_id, whatever number of ends point at it) with its size,
 * followed by its bytes. An external pipe has none: its data stays in the source host's pipe.
 */
final class PipeData {
    private PipeData() {
    }

    static void write(List<FileObject> files, ImageDir d) throws IOException {
        d.writePipeData(ImageType.PIPES_DATA, entries(files, false));
        d.writePipeData(ImageType.FIFO_DATA, entries(files, true));
    }

    private static List<ImageDir.PipeDataEntry> entries(List<FileObject> files, boolean fifos) {
        Map<Integer, PipeBuffer> byPipe = new LinkedHashMap<>();
        for (FileObject f : files) {
            int pipeId;
            PipeBuffer b;
            if (!fifos && f instanceof Pipe p && !p.external()) {
                pipeId = p.pipeId();
                b = p.buffer();
            } else if (fifos && f instanceof Fifo ff) {
                pipeId = ff.pipeId();
                b = ff.buffer();
            } else {
                continue;
            }
            PipeBuffer seen = byPipe.putIfAbsent(pipeId, b);
            if (seen != null && !seen.equals(b)) {
                throw new IllegalArgumentException(f.describe() + ": its ends carry different buffers (" + seen + ", "
                        + b + ")");
            }
        }
        List<ImageDir.PipeDataEntry> out = new ArrayList<>();
        for (Map.Entry<Integer, PipeBuffer> e : byPipe.entrySet()) {
            PipeBuffer b = e.getValue();
            pipe_data_entry.Builder entry = pipe_data_entry.newBuilder().setPipeId(e.getKey()).setBytes(b.length());
            if (b.size() != 0) {
                entry.setSize(b.size());
            }
            out.add(new ImageDir.PipeDataEntry(entry.build(), b.bytes()));
        }
        return out;
    }

    /**
     * The files with their buffers from pipes-data.img and fifo-data.img; an entry for a pipe no end
     * points at, or a pipe listed twice, is an {@link ImageException} naming the image.
     */
    static List<FileObject> attach(List<FileObject> files, ImageDir d) throws IOException {
        Map<Integer, PipeBuffer> pipes = read(d, ImageType.PIPES_DATA, files, false);
        Map<Integer, PipeBuffer> fifos = read(d, ImageType.FIFO_DATA, files, true);
        List<FileObject> out = new ArrayList<>();
        for (FileObject f : files) {
            if (f instanceof Pipe p && pipes.containsKey(p.pipeId())) {
                String name = ImageType.PIPES_DATA.fileName(0);
                out.add(CheckpointCodec.at(name, () -> {
                    if (p.external()) {
                        throw new IllegalArgumentException(p.describe() + " is external but has data");
                    }
                    return p.withBuffer(pipes.get(p.pipeId()));
                }));
            } else if (f instanceof Fifo ff && fifos.containsKey(ff.pipeId())) {
                out.add(ff.withBuffer(fifos.get(ff.pipeId())));
            } else {
                out.add(f);
            }
        }
        return out;
    }

    private static Map<Integer, PipeBuffer> read(ImageDir d, ImageType type, List<FileObject> files, boolean fifos)
            throws IOException {
        String name = type.fileName(0);
        Map<Integer, PipeBuffer> out = new LinkedHashMap<>();
        for (ImageDir.PipeDataEntry e : d.readPipeData(type)) {
            int pipeId = e.entry().getPipeId();
            String pipe = (fifos ? "FIFO" : "pipe") + " id " + Integer.toUnsignedString(pipeId);
            boolean held = files.stream().anyMatch(f -> fifos ? f instanceof Fifo ff && ff.pipeId() == pipeId
                    : f instanceof Pipe p && p.pipeId() == pipeId);
            if (!held) {
                throw new ImageException(name + ": data for " + pipe + ", which no fd holds");
            }
            PipeBuffer b = CheckpointCodec.at(name, () -> {
                try {
                    return new PipeBuffer(e.entry().getSize(), e.bytes());
                } catch (IllegalArgumentException x) {
                    throw new IllegalArgumentException(pipe + ": " + x.getMessage(), x);
                }
            });
            if (out.put(pipeId, b) != null) {
                throw new ImageException(name + ": " + pipe + " listed twice");
            }
        }
        return out;
    }
}
