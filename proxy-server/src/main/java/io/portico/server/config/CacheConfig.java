package io.portico.server.config;

/**
 * The shared HTTP cache of this Portico; routes opt in with their own {@code cache} keys.
 *
 * @param memorySize budget of the memory tier (bodies off the Java heap, headers counted too)
 * @param diskPath   directory of the disk tier behind the memory tier; left out, no disk tier
 * @param diskSize   budget of the disk tier
 * @param sendfile   whether plain HTTP/1.1 hits on large objects go out from their disk-tier file
 *                   with sendfile(2)/splice instead of being copied from memory (nginx's sendfile)
 * @param sendfileMinSize the smallest body sent that way; smaller ones are cheaper as one write
 */
public record CacheConfig(
        @Default("256m") ByteSize memorySize,
        @Nullable String diskPath,
        @Default("1g") ByteSize diskSize,
        @Default("true") boolean sendfile,
        @Default("32k") ByteSize sendfileMinSize) {

    public CacheConfig {
        if (memorySize.bytes() < (1 << 20)) {
            throw new InvalidConfigException("memory_size", "must be at least 1m, got " + memorySize);
        }
        if (diskPath != null && diskPath.isBlank()) {
            throw new InvalidConfigException("disk_path", "leave it out for no disk tier, or name a directory");
        }
        if (sendfileMinSize.bytes() < 1) {
            throw new InvalidConfigException("sendfile_min_size", "must be at least 1, got " + sendfileMinSize
                    + " (sendfile: false turns sending from files off)");
        }
    }
}
