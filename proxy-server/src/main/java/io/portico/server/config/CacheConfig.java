package io.portico.server.config;

/**
 * The shared HTTP cache of this Portico; routes opt in with their own {@code cache} keys.
 *
 * @param memorySize budget of the memory tier (bodies off the Java heap, headers counted too)
 * @param diskPath   directory of the disk tier behind the memory tier; left out, no disk tier
 * @param diskSize   budget of the disk tier
 */
public record CacheConfig(
        @Default("256m") ByteSize memorySize,
        @Nullable String diskPath,
        @Default("1g") ByteSize diskSize) {

    public CacheConfig {
        if (memorySize.bytes() < (1 << 20)) {
            throw new InvalidConfigException("memory_size", "must be at least 1m, got " + memorySize);
        }
        if (diskPath != null && diskPath.isBlank()) {
            throw new InvalidConfigException("disk_path", "leave it out for no disk tier, or name a directory");
        }
    }
}
