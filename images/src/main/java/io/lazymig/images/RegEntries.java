package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.fown_entry;
import io.lazymig.images.proto.reg_file_entry;

/** The REG entry of files.img that several kinds share (regular files, /dev/null, terminals, and exe/cwd/mappings). */
final class RegEntries {
    static final int S_IFCHR = 0020000;
    /** No F_SETOWN owner: what lazymig writes in every fown field. */
    static final fown_entry NO_OWNER = fown_entry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0)
            .setPid(0).build();

    private RegEntries() {
    }

    /** A REG entry; {@code mode} 0 leaves st_mode out (CRIU treats it as optional). */
    static file_entry entry(int id, String path, int flags, long pos, int mode) {
        reg_file_entry.Builder reg = reg_file_entry.newBuilder().setId(id).setFlags(flags).setPos(pos).setFown(NO_OWNER)
                .setName(path);
        if (mode != 0) {
            reg.setMode(mode);
        }
        return file_entry.newBuilder().setType(fd_types.REG).setId(id).setReg(reg).build();
    }

    /** The reg sub-message of a REG entry, its name checked. */
    static reg_file_entry reg(file_entry e) {
        if (e.getType() != fd_types.REG || !e.hasReg()) {
            throw new IllegalArgumentException("file id " + Integer.toUnsignedString(e.getId()) + " is of type "
                    + e.getType() + (e.hasReg() ? "" : " without a reg entry") + ", expected REG");
        }
        FilePaths.check(e.getReg().getName());
        return e.getReg();
    }

    /** The error of an entry of {@code e}'s type without its sub-message. */
    static IllegalArgumentException missing(file_entry e, String field) {
        return new IllegalArgumentException("file id " + Integer.toUnsignedString(e.getId()) + " is of type " + e.getType()
                + " without its " + field + " entry");
    }

    static boolean isReg(file_entry e) {
        return e.getType() == fd_types.REG && e.hasReg();
    }
}
