package io.portico.server.config;

/**
 * The access log, written by its own thread so the event loops never wait on the disk.
 *
 * @param enabled  on or off
 * @param path     a file (relative to the working directory), or {@code stdout}
 * @param buffer   lines queued for the writer; when full, lines are dropped and counted, never waited for
 */
public record AccessLogConfig(
        @Default("true") boolean enabled,
        @Default("logs/access.log") String path,
        @Default("65536") int buffer) {

    public AccessLogConfig {
        if (buffer < 16) {
            throw new InvalidConfigException("buffer", "must be at least 16");
        }
        if (path.isEmpty()) {
            throw new InvalidConfigException("path", "cannot be empty; use stdout or a file");
        }
    }
}
