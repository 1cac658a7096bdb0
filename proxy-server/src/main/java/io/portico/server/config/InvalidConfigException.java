package io.portico.server.config;

/**
 * Thrown by a config record's constructor when a value is wrong. {@code key} is the record
 * component's key as written in YAML (snake_case), relative to the record, or a dotted path below
 * it such as {@code routes[2].upstream}; the loader turns it into file, line and full key.
 */
public final class InvalidConfigException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String key;

    public InvalidConfigException(String key, String message) {
        super(message);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
