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
     *
     * <p>Content-Length and Transfer-Encoding are refused too: they say where a message's body
     * ends, which Portico decides from the body it forwards. Removed from a request with a body,
     * the body would go upstream unframed (read there as the next request) or not at all; set,
     * they would announce a body that is not the one sent.
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
        if (name.equalsIgnoreCase("content-length") || name.equalsIgnoreCase("transfer-encoding")) {
            throw new InvalidConfigException(key, "'" + name
                    + "' frames the message's body; Portico sets it from the body it forwards");
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
