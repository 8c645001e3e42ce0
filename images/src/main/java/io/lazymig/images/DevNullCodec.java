package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.reg_file_entry;

/** {@link DevNull} ↔ a REG entry named /dev/null with its real mode, as CRIU writes it. */
final class DevNullCodec implements FileCodec<DevNull> {
    static final int MODE = RegEntries.S_IFCHR | 0666;

    @Override
    public Class<DevNull> kind() {
        return DevNull.class;
    }

    @Override
    public fd_types type() {
        return fd_types.REG;
    }

    @Override
    public boolean decodes(file_entry e) {
        return RegEntries.isReg(e) && e.getReg().getName().equals(DevNull.PATH);
    }

    @Override
    public file_entry encode(DevNull f) {
        return RegEntries.entry(f.id(), DevNull.PATH, f.flags(), f.pos(), MODE);
    }

    @Override
    public DevNull decode(file_entry e) {
        reg_file_entry reg = RegEntries.reg(e);
        return new DevNull(e.getId(), reg.getFlags(), reg.getPos());
    }
}
