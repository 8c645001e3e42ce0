package io.lazymig.images;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The pagemap of one process: which pages the checkpoint holds, and where. The iovs are sorted by
 * address and do not overlap; the PE_PRESENT ones have their data in {@code pages-<pagesId>.img},
 * concatenated in iov order, so each iov's {@link PagemapIov#pagesOffset()} is fixed by the ones
 * before it. Use {@link #builder(int)} to have the offsets computed.
 */
public record Pagemap(int pagesId, List<PagemapIov> iovs) {
    public Pagemap {
        iovs = List.copyOf(iovs);
        long offset = 0;
        PagemapIov previous = null;
        for (PagemapIov iov : iovs) {
            if (previous != null && Long.compareUnsigned(iov.vaddr(), previous.end()) < 0) {
                throw new IllegalArgumentException(iov + " overlaps or precedes " + previous + " (iovs must be sorted)");
            }
            if (iov.isPresent()) {
                if (iov.pagesOffset() != offset) {
                    throw new IllegalArgumentException(iov + ": pages offset should be " + offset);
                }
                offset += iov.length();
            }
            previous = iov;
        }
    }

    /** Bytes of pages-N.img that the PE_PRESENT iovs account for: its exact expected size. */
    public long presentBytes() {
        long total = 0;
        for (PagemapIov iov : iovs) {
            if (iov.isPresent()) {
                total += iov.length();
            }
        }
        return total;
    }

    /** Total pages across all iovs. */
    public long pages() {
        long total = 0;
        for (PagemapIov iov : iovs) {
            total += iov.nrPages();
        }
        return total;
    }

    /** Pages flagged PE_LAZY. */
    public long lazyPages() {
        long total = 0;
        for (PagemapIov iov : iovs) {
            if (iov.isLazy()) {
                total += iov.nrPages();
            }
        }
        return total;
    }

    /** Pages flagged PE_COW: the parent's, shared copy-on-write, with no data here. */
    public long cowPages() {
        long total = 0;
        for (PagemapIov iov : iovs) {
            if (iov.isCow()) {
                total += iov.nrPages();
            }
        }
        return total;
    }

    /** The iov holding {@code address}, if any (binary search). */
    public Optional<PagemapIov> find(long address) {
        int low = 0;
        int high = iovs.size() - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            PagemapIov iov = iovs.get(mid);
            if (Long.compareUnsigned(address, iov.vaddr()) < 0) {
                high = mid - 1;
            } else if (Long.compareUnsigned(address, iov.end()) >= 0) {
                low = mid + 1;
            } else {
                return Optional.of(iov);
            }
        }
        return Optional.empty();
    }

    public static Builder builder(int pagesId) {
        return new Builder(pagesId);
    }

    /** Collects iovs in address order and assigns the pages-file offsets of the present ones. */
    public static final class Builder {
        private final int pagesId;
        private final List<PagemapIov> iovs = new ArrayList<>();
        private long offset;

        private Builder(int pagesId) {
            this.pagesId = pagesId;
        }

        /** Appends an iov; its data, if PE_PRESENT, must be the next bytes of pages-N.img. */
        public Builder add(long vaddr, long nrPages, int flags) {
            boolean present = (flags & PagemapIov.PE_PRESENT) != 0;
            PagemapIov iov = new PagemapIov(vaddr, nrPages, flags, present ? offset : -1);
            iovs.add(iov);
            if (present) {
                offset += iov.length();
            }
            return this;
        }

        /** The pages-file offset the next PE_PRESENT iov will get. */
        public long nextOffset() {
            return offset;
        }

        public Pagemap build() {
            return new Pagemap(pagesId, iovs);
        }
    }
}
