package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.reg_file_entry;

/** {@link Terminal} ↔ a REG entry by path with a char-device mode (crw--w----). */
final class TerminalCodec implements FileCodec<Terminal> {
    static final int MODE = RegEntries.S_IFCHR | 0620;

    @Override
    public Class<Terminal> kind() {
        return Terminal.class;
    }

    @Override
    public fd_types type() {
        return fd_types.REG;
    }

    @Override
    public boolean decodes(file_entry e) {
        return RegEntries.isReg(e) && FilePaths.isTerminal(e.getReg().getName());
    }

    @Override
    public file_entry encode(Terminal f) {
        return RegEntries.entry(f.id(), f.path(), f.flags(), f.pos(), MODE);
    }

    @Override
    public Terminal decode(file_entry e) {
        reg_file_entry reg = RegEntries.reg(e);
        return new Terminal(e.getId(), reg.getName(), reg.getFlags(), reg.getPos());
    }
}
