package io.portico.server.config;

/**
 * A config file that cannot be used. The message always names the file, the line and the full
 * key, as {@code conf/portico.yaml:12: listeners[0].backlog: must be a positive integer, got 'x'}.
 */
public final class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String file;
    private final int line;
    private final String key;
    private final String reason;

    public ConfigException(String file, int line, String key, String reason) {
        super(file + ":" + line + ": " + (key.isEmpty() ? "" : key + ": ") + reason);
        this.file = file;
        this.line = line;
        this.key = key;
        this.reason = reason;
    }

    public String file() {
        return file;
    }

    /** 1-based line number in {@link #file()}. */
    public int line() {
        return line;
    }

    /** The full key path, such as {@code upstreams.api.backends[0].weight}. */
    public String key() {
        return key;
    }

    public String reason() {
        return reason;
    }
}
