package io.portico.server.config;

/**
 * The shared HTTP cache of this Portico; routes opt in with their own {@code cache} keys.
 *
 * @param memorySize budget of the memory tier (bodies off the Java heap, headers counted too)
 */
public record CacheConfig(@Default("256m") ByteSize memorySize) {

    public CacheConfig {
        if (memorySize.bytes() < (1 << 20)) {
            throw new InvalidConfigException("memory_size", "must be at least 1m, got " + memorySize);
        }
    }
}
