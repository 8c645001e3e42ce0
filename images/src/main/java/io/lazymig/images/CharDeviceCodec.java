package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.reg_file_entry;

/** {@link CharDevice} ↔ a REG entry by its path with a char-device mode, as CRIU writes it. */
final class CharDeviceCodec implements FileCodec<CharDevice> {
    static final int MODE = RegEntries.S_IFCHR | 0666;

    @Override
    public Class<CharDevice> kind() {
        return CharDevice.class;
    }

    @Override
    public fd_types type() {
        return fd_types.REG;
    }

    @Override
    public boolean decodes(file_entry e) {
        return RegEntries.isReg(e) && CharDevice.isCharDevicePath(e.getReg().getName());
    }

    @Override
    public file_entry encode(CharDevice f) {
        return RegEntries.entry(f.id(), f.path(), f.flags(), f.pos(), MODE);
    }

    @Override
    public CharDevice decode(file_entry e) {
        reg_file_entry reg = RegEntries.reg(e);
        return new CharDevice(e.getId(), reg.getName(), reg.getFlags(), reg.getPos());
    }
}
