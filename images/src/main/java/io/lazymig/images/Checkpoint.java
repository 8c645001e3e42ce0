package io.lazymig.images;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The checkpoint of one single-threaded x86_64 process: everything dump collects and restore needs,
 * except the page data, which lives in {@code pages-<pagemap.pagesId>.img} (write it with
 * {@link ImageDir#createPages(int)}, read it with {@link ImageDir#openPages(int)}).
 *
 * <p>Invariants: VMAs sorted and disjoint; every pagemap iov inside VMAs; PE_LAZY only in VMAs that
 * {@link Vma#canBeLazy() can be lazy}; fd numbers unique.
 */
public record Checkpoint(Task task, Registers registers, List<Vma> vmas, Pagemap pagemap, List<OpenFile> files) {
    public Checkpoint {
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(registers, "registers");
        Objects.requireNonNull(pagemap, "pagemap");
        vmas = List.copyOf(vmas);
        files = List.copyOf(files);
        checkVmas(vmas);
        checkPagemap(vmas, pagemap);
        Set<Integer> fds = new HashSet<>();
        for (OpenFile f : files) {
            if (!fds.add(f.fd())) {
                throw new IllegalArgumentException("fd " + f.fd() + " listed twice");
            }
            if (f.sharesWith() != OpenFile.OWN && !fds.contains(f.sharesWith())) {
                throw new IllegalArgumentException("fd " + f.fd() + " shares its file with fd " + f.sharesWith()
                        + ", which is not listed before it");
            }
        }
    }

    /** Writes every image but pages-N.img, which must already hold exactly the PE_PRESENT data (or be absent if there is none). */
    public void write(Path dir) throws IOException {
        CheckpointCodec.write(this, ImageDir.of(dir));
    }

    /**
     * Reads and checks a checkpoint that lazymig wrote (it carries the raw XSAVE area and its layout).
     * An image made by CRIU is refused with an {@link ImageException}: read it with
     * {@link #read(Path, XsaveLayout)}.
     */
    public static Checkpoint read(Path dir) throws IOException {
        return CheckpointCodec.read(ImageDir.of(dir), null);
    }

    /**
     * Reads and checks a checkpoint; an image made by CRIU (only CRIU's named fpregs fields) gets its
     * XSAVE area rebuilt in {@code layout}, the layout of the CPU that will use it (this machine's:
     * {@link XsaveLayout#fromCpuid}). A lazymig image keeps its own area and layout.
     */
    public static Checkpoint read(Path dir, XsaveLayout layout) throws IOException {
        return CheckpointCodec.read(ImageDir.of(dir), Objects.requireNonNull(layout, "layout"));
    }

    /** The VMA holding {@code address}, if any. */
    public Optional<Vma> vmaAt(long address) {
        int low = 0;
        int high = vmas.size() - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            Vma v = vmas.get(mid);
            if (Long.compareUnsigned(address, v.start()) < 0) {
                high = mid - 1;
            } else if (Long.compareUnsigned(address, v.end()) >= 0) {
                low = mid + 1;
            } else {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }

    static void checkVmas(List<Vma> vmas) {
        for (int i = 1; i < vmas.size(); i++) {
            if (Long.compareUnsigned(vmas.get(i).start(), vmas.get(i - 1).end()) < 0) {
                throw new IllegalArgumentException(vmas.get(i) + " overlaps or precedes " + vmas.get(i - 1)
                        + " (VMAs must be sorted and disjoint)");
            }
        }
    }

    /** Every iov must lie in VMAs (it may span adjacent ones), and PE_LAZY ones only in lazy-capable VMAs. */
    static void checkPagemap(List<Vma> vmas, Pagemap pagemap) {
        int v = 0;
        for (PagemapIov iov : pagemap.iovs()) {
            long at = iov.vaddr();
            while (Long.compareUnsigned(at, iov.end()) < 0) {
                while (v < vmas.size() && Long.compareUnsigned(vmas.get(v).end(), at) <= 0) {
                    v++;
                }
                if (v == vmas.size() || !vmas.get(v).contains(at)) {
                    throw new IllegalArgumentException(iov + ": page 0x" + Long.toHexString(at) + " is in no VMA");
                }
                Vma vma = vmas.get(v);
                if (iov.isLazy() && !vma.canBeLazy()) {
                    throw new IllegalArgumentException(iov + " is PE_LAZY inside " + vma + ", which cannot be lazy");
                }
                at = vma.end();
                if (at == 0) {
                    break; // a VMA ending at the top of the address space
                }
            }
        }
    }
}
