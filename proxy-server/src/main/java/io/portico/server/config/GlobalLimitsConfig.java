package io.portico.server.config;

/**
 * Limits across the whole process.
 *
 * @param maxConnections     open client connections across all listeners; at the cap every listener
 *                           stops accepting until one closes. 0 means no cap (HAProxy global maxconn)
 * @param bufferMemory       bytes Portico may hold in connections' output buffers all together; over
 *                           it every connection stops reading until the buffers drain. 0 means no budget
 * @param connectionBuffer   bytes one connection may hold in its output buffer before Portico stops
 *                           reading the connection that feeds it (the write buffer high-water mark)
 * @param http2ConnectionBuffer the same for an HTTP/2 connection, whose one output buffer carries the
 *                           frames of all its streams (up to max_concurrent_streams responses at once)
 */
public record GlobalLimitsConfig(
        @Default("0") int maxConnections,
        @Default("512m") ByteSize bufferMemory,
        @Default("64k") ByteSize connectionBuffer,
        @Default("1m") ByteSize http2ConnectionBuffer) {

    public GlobalLimitsConfig {
        if (maxConnections < 0) {
            throw new InvalidConfigException("max_connections", "cannot be negative (0 means no cap)");
        }
        checkBuffer("connection_buffer", connectionBuffer);
        checkBuffer("http2_connection_buffer", http2ConnectionBuffer);
        if (bufferMemory.bytes() != 0 && bufferMemory.bytes() < connectionBuffer.bytes()) {
            throw new InvalidConfigException("buffer_memory", "must be 0 (no budget) or at least connection_buffer");
        }
    }

    private static void checkBuffer(String key, ByteSize size) {
        if (size.bytes() < 1024 || size.bytes() > (1L << 30)) {
            throw new InvalidConfigException(key, "must be 1k to 1g");
        }
    }
}
