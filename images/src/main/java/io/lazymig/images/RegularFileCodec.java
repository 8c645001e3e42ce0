package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.reg_file_entry;

/** {@link RegularFile} ↔ a REG entry (its st_mode is not in the model, and CRIU treats it as optional). */
final class RegularFileCodec implements FileCodec<RegularFile> {
    @Override
    public Class<RegularFile> kind() {
        return RegularFile.class;
    }

    @Override
    public fd_types type() {
        return fd_types.REG;
    }

    @Override
    public boolean decodes(file_entry e) {
        return RegEntries.isReg(e);
    }

    @Override
    public file_entry encode(RegularFile f) {
        return RegEntries.entry(f.id(), f.path(), f.flags(), f.pos(), 0);
    }

    @Override
    public RegularFile decode(file_entry e) {
        reg_file_entry reg = RegEntries.reg(e);
        return new RegularFile(e.getId(), reg.getName(), reg.getFlags(), reg.getPos());
    }
}
