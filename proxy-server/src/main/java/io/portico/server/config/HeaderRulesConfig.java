package io.portico.server.config;

import java.util.List;
import java.util.Map;

/**
 * Header edits, applied in the order remove, set, add.
 *
 * @param remove  names to drop
 * @param set     names to replace (or create) with one value
 * @param add     names to append a value to
 */
public record HeaderRulesConfig(
        List<String> remove,
        Map<String, String> set,
        Map<String, String> add) {

    public HeaderRulesConfig {
        remove = List.copyOf(remove);
        set = Map.copyOf(set);
        add = Map.copyOf(add);
        for (String name : remove) {
            checkName("remove", name);
        }
        for (Map.Entry<String, String> e : set.entrySet()) {
            checkName("set", e.getKey());
            checkValue("set." + e.getKey(), e.getValue());
        }
        for (Map.Entry<String, String> e : add.entrySet()) {
            checkName("add", e.getKey());
            checkValue("add." + e.getKey(), e.getValue());
        }
    }

    public boolean isEmpty() {
        return remove.isEmpty() && set.isEmpty() && add.isEmpty();
    }

    /**
     * Refuses a header name that is not an RFC 9110 token. Every name Portico writes into a request or
     * response comes from here, from its own constants or from the wire, where the framing scanner
     * checked it; the HTTP/1 decoders therefore skip Netty's second check of the same names.
     */
    static void checkName(String key, String name) {
        if (name.isEmpty()) {
            throw new InvalidConfigException(key, "a header name cannot be empty");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean token = c > 32 && c < 127 && "\"(),/:;<=>?@[\\]{}".indexOf(c) < 0;
            if (!token) {
                throw new InvalidConfigException(key, "'" + name + "' is not a valid header name");
            }
        }
    }

    private static void checkValue(String key, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\r' || c == '\n' || c == 0) {
                throw new InvalidConfigException(key, "a header value cannot hold CR, LF or NUL");
            }
        }
    }
}
