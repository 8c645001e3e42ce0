package io.lazymig.images;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

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
        Map<Integer, Integer> seen = null; // occurrences of repeated message fields, for "[i]"
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int number = WireFormat.getTagFieldNumber(tag);
            FieldDescriptor field = type.findFieldByNumber(number);
            if (field == null) {
                in.skipField(tag);
                continue;
            }
            int wire = WireFormat.getTagWireType(tag);
            boolean packed = field.isRepeated() && field.getLiteType().isPackable()
                    && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED;
            if (wire != field.getLiteType().getWireType() && !packed) {
                return path.field(field) + " (field " + number + ") has the wrong wire type";
            }
            if (field.getType() == FieldDescriptor.Type.ENUM) {
                String bad = packed ? checkPackedEnum(field, in, path) : checkEnum(field, in.readEnum(), path);
                if (bad != null) {
                    return bad;
                }
            } else if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                int index = -1;
                if (field.isRepeated()) {
                    seen = seen == null ? new HashMap<>() : seen;
                    index = seen.merge(number, 1, Integer::sum) - 1;
                }
                int limit = in.pushLimit(in.readRawVarint32());
                String bad = check(field.getMessageType(), in, new At(path, field.getName(), index));
                if (bad != null) {
                    return bad;
                }
                in.popLimit(limit);
            } else {
                in.skipField(tag);
            }
        }
        return null;
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
