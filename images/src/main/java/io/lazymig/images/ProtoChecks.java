package io.lazymig.images;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import java.util.List;
import java.util.Map;

/**
 * What protobuf-java accepts silently but an image must not hold. A proto2 parser keeps an unknown
 * enum number, or a declared field sent with the wrong wire type, as an "unknown field" and carries
 * on as if the field were absent. Both are corruption here, so we look for them after parsing.
 * Truly unknown field numbers (a newer CRIU's additions) are fine and stay ignored.
 */
final class ProtoChecks {
    private ProtoChecks() {
    }

    /** The first field holding a value our schema cannot represent, described for an error message, or null. */
    static String firstBadField(Message message) {
        return check(message, message.getDescriptorForType().getName());
    }

    private static String check(Message message, String path) {
        Descriptor type = message.getDescriptorForType();
        for (Map.Entry<Integer, UnknownFieldSet.Field> unknown : message.getUnknownFields().asMap().entrySet()) {
            FieldDescriptor field = type.findFieldByNumber(unknown.getKey());
            if (field == null) {
                continue;
            }
            List<Long> varints = unknown.getValue().getVarintList();
            if (field.getType() == FieldDescriptor.Type.ENUM && !varints.isEmpty()) {
                return path + "." + field.getName() + " holds " + varints.get(0).intValue()
                        + ", not a value of enum " + field.getEnumType().getName();
            }
            return path + "." + field.getName() + " (field " + field.getNumber() + ") has the wrong wire type";
        }
        for (Map.Entry<FieldDescriptor, Object> set : message.getAllFields().entrySet()) {
            FieldDescriptor field = set.getKey();
            if (field.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
                continue;
            }
            String fieldPath = path + "." + field.getName();
            if (field.isRepeated()) {
                List<?> values = (List<?>) set.getValue();
                for (int i = 0; i < values.size(); i++) {
                    String bad = check((Message) values.get(i), fieldPath + "[" + i + "]");
                    if (bad != null) {
                        return bad;
                    }
                }
            } else {
                String bad = check((Message) set.getValue(), fieldPath);
                if (bad != null) {
                    return bad;
                }
            }
        }
        return null;
    }
}
