package io.lazymig.images;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What protobuf-java accepts silently but an image must not hold. A proto2 parser keeps an unknown
 * enum number, or a declared field sent with the wrong wire type, as an "unknown field" and carries
 * on as if the field were absent. Both are corruption here, so we look for them in the entry's
 * bytes, walking them against the message's descriptor: a wire-level pass, because asking the
 * parsed message (getAllFields) builds protobuf's reflection tables, which cost a cold restore
 * ~55 ms (measured) before it could do anything. Truly unknown field numbers (a newer CRIU's
 * additions) are fine and stay ignored.
 */
final class ProtoChecks {
    private ProtoChecks() {
    }

    /**
     * The first field of {@code bytes} (an entry of message {@code type}, already accepted by the
     * parser) holding a value our schema cannot represent, described for an error message, or null.
     */
    static String firstBadField(Descriptor type, byte[] bytes) {
        try {
            return check(type, CodedInputStream.newInstance(bytes), new At(null, type.getName(), -1));
        } catch (IOException e) {
            return type.getName() + " is malformed: " + e.getMessage(); // the parser took it, so not expected
        }
    }

    /**
     * Where a field is, as "message.field[i].field": built into a string only for an error. Building
     * it for every field read (string concatenations per element of a core image's XSAVE arrays)
     * was most of reading a checkpoint of 100 threads (15-50 ms warm, ~180 ms in the agent).
     */
    private record At(At parent, String name, int index) {
        At field(FieldDescriptor f) {
            return new At(this, f.getName(), -1);
        }

        @Override
        public String toString() {
            String here = index < 0 ? name : name + "[" + index + "]";
            return parent == null ? here : parent + "." + here;
        }
    }

    private static String check(Descriptor type, CodedInputStream in, At path) throws IOException {
        Fields fields = Fields.of(type);
        Map<Integer, Integer> seen = null; // occurrences of repeated message fields, for "[i]"
        int plainTag = 0; // the last tag found to be a scalar that is not an enum, with its right wire type
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (tag == plainTag) {
                // The next element of an unpacked repeated scalar: checked with the first. A core
                // image's XSAVE fields are ~700 of them per thread, and looking each one up again
                // was most of reading a checkpoint of 100 threads before the JIT had compiled this.
                in.skipField(tag);
                continue;
            }
            int number = WireFormat.getTagFieldNumber(tag);
            Slot slot = fields.get(number);
            if (slot == null) {
                in.skipField(tag);
                continue;
            }
            FieldDescriptor field = slot.field;
            int wire = WireFormat.getTagWireType(tag);
            boolean packed = slot.packable && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED;
            if (wire != slot.wireType && !packed) {
                return path.field(field) + " (field " + number + ") has the wrong wire type";
            }
            if (slot.isEnum) {
                String bad = packed ? checkPackedEnum(field, in, path) : checkEnum(field, in.readEnum(), path);
                if (bad != null) {
                    return bad;
                }
            } else if (slot.message != null) {
                int index = -1;
                if (slot.repeated) {
                    seen = seen == null ? new HashMap<>() : seen;
                    index = seen.merge(number, 1, Integer::sum) - 1;
                }
                int limit = in.pushLimit(in.readRawVarint32());
                String bad = check(slot.message, in, new At(path, field.getName(), index));
                if (bad != null) {
                    return bad;
                }
                in.popLimit(limit);
            } else {
                in.skipField(tag);
                plainTag = tag;
            }
        }
        return null;
    }

    /** What the walk needs of one declared field, taken from its descriptor once. */
    private static final class Slot {
        final FieldDescriptor field;
        final int wireType;
        final boolean repeated;
        final boolean packable;
        final boolean isEnum;
        /** The field's message type; null when it is not a message. */
        final Descriptor message;

        Slot(FieldDescriptor f) {
            field = f;
            wireType = f.getLiteType().getWireType();
            repeated = f.isRepeated();
            packable = f.isRepeated() && f.getLiteType().isPackable();
            isEnum = f.getType() == FieldDescriptor.Type.ENUM;
            message = f.getJavaType() == FieldDescriptor.JavaType.MESSAGE ? f.getMessageType() : null;
        }
    }

    /**
     * A message type's fields by number, built once per type: findFieldByNumber and the descriptor's
     * getters, asked again for every field of every entry, were a third of the walk before the JIT
     * had compiled it (a checkpoint of 100 threads, the agent's first ones).
     */
    private static final class Fields {
        private static final int LOW = 64;
        private static final Map<Descriptor, Fields> CACHE = new ConcurrentHashMap<>();

        private final Slot[] low = new Slot[LOW];
        private final Map<Integer, Slot> high = new HashMap<>();

        private Fields(Descriptor type) {
            for (FieldDescriptor f : type.getFields()) {
                if (f.getNumber() < LOW) {
                    low[f.getNumber()] = new Slot(f);
                } else {
                    high.put(f.getNumber(), new Slot(f));
                }
            }
        }

        static Fields of(Descriptor type) {
            Fields f = CACHE.get(type);
            return f != null ? f : CACHE.computeIfAbsent(type, Fields::new);
        }

        Slot get(int number) {
            return number < LOW ? low[number] : high.get(number);
        }
    }

    private static String checkPackedEnum(FieldDescriptor field, CodedInputStream in, At path) throws IOException {
        int limit = in.pushLimit(in.readRawVarint32());
        while (!in.isAtEnd()) {
            String bad = checkEnum(field, in.readEnum(), path);
            if (bad != null) {
                return bad;
            }
        }
        in.popLimit(limit);
        return null;
    }

    /** {@code value} of enum field {@code field} of the message at {@code path}: null when it is one of the enum's. */
    private static String checkEnum(FieldDescriptor field, int value, At path) {
        return field.getEnumType().findValueByNumber(value) == null
                ? path.field(field) + " holds " + value + ", not a value of enum " + field.getEnumType().getName() : null;
    }
}
