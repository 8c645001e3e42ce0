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
            return check(type, CodedInputStream.newInstance(bytes), type.getName());
        } catch (IOException e) {
            return type.getName() + " is malformed: " + e.getMessage(); // the parser took it, so not expected
        }
    }

    private static String check(Descriptor type, CodedInputStream in, String path) throws IOException {
        Map<Integer, Integer> seen = null; // occurrences of repeated message fields, for "[i]"
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int number = WireFormat.getTagFieldNumber(tag);
            FieldDescriptor field = type.findFieldByNumber(number);
            if (field == null) {
                in.skipField(tag);
                continue;
            }
            String fieldPath = path + "." + field.getName();
            int wire = WireFormat.getTagWireType(tag);
            boolean packed = field.isRepeated() && field.getLiteType().isPackable()
                    && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED;
            if (wire != field.getLiteType().getWireType() && !packed) {
                return fieldPath + " (field " + number + ") has the wrong wire type";
            }
            if (field.getType() == FieldDescriptor.Type.ENUM) {
                String bad = packed ? checkPackedEnum(field, in, fieldPath) : checkEnum(field, in.readEnum(), fieldPath);
                if (bad != null) {
                    return bad;
                }
            } else if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                String at = fieldPath;
                if (field.isRepeated()) {
                    seen = seen == null ? new HashMap<>() : seen;
                    int index = seen.merge(number, 1, Integer::sum) - 1;
                    at = fieldPath + "[" + index + "]";
                }
                int limit = in.pushLimit(in.readRawVarint32());
                String bad = check(field.getMessageType(), in, at);
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

    private static String checkPackedEnum(FieldDescriptor field, CodedInputStream in, String path) throws IOException {
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

    private static String checkEnum(FieldDescriptor field, int value, String path) {
        return field.getEnumType().findValueByNumber(value) == null
                ? path + " holds " + value + ", not a value of enum " + field.getEnumType().getName() : null;
    }
}
