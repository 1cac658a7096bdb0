package io.portico.server.config;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The running config as a tree of maps, lists and scalars with the keys written as in the file
 * ({@code reuse_port}), for the admin API. Values that are secrets, or say where secrets are kept,
 * are replaced by {@value #REDACTED}; a reader sees that they are set, never what they are.
 */
public final class ConfigView {

    /** What a secret is shown as. */
    public static final String REDACTED = "<redacted>";

    /** Keys whose values are not shown: key files, passwords and tokens, and where they come from. */
    private static final Set<String> SECRET_KEYS = Set.of("key", "key2", "client_key", "pkcs12", "password_file",
            "password_env", "token_file", "token_env", "ticket_key_file");

    private ConfigView() {
    }

    /** {@code config} as a tree; secrets redacted. */
    public static Map<String, Object> of(Record config) {
        return record(config);
    }

    private static Map<String, Object> record(Record r) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            String key = ConfigBinder.keyOf(c);
            Object value;
            try {
                value = c.getAccessor().invoke(r);
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("cannot read " + key, e);
            }
            out.put(key, value != null && isSecret(key) ? REDACTED : value(value));
        }
        return out;
    }

    private static boolean isSecret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return SECRET_KEYS.contains(k) || k.contains("password") || k.contains("secret") || k.contains("token");
    }

    private static Object value(Object v) {
        if (v == null || v instanceof String || v instanceof Number || v instanceof Boolean) {
            return v;
        }
        if (v instanceof HostPort || v instanceof ByteSize) {
            return v.toString();
        }
        if (v instanceof Record r) {
            return record(r);
        }
        if (v instanceof Duration d) {
            return Durations.format(d);
        }
        if (v instanceof Enum<?> e) {
            return e.name().toLowerCase(Locale.ROOT);
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), value(x)));
            return out;
        }
        if (v instanceof Collection<?> c) {
            List<Object> out = new ArrayList<>(c.size());
            for (Object x : c) {
                out.add(value(x));
            }
            return out;
        }
        return v.toString();
    }
}
