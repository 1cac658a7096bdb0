package io.portico.server.config;

/**
 * The access log, written by its own thread so the event loops never wait on the disk.
 *
 * @param enabled  on or off
 * @param path     a file (relative to the working directory), or {@code stdout}
 * @param buffer   lines queued for the writer; when full, lines are dropped and counted, never waited for
 * @param format   {@code combined} (nginx's, with Portico's fields after it), {@code json} (one object a
 *                 line), or a template of {@code $field} names and text
 * @param rotation size and daily rotation of the file
 */
public record AccessLogConfig(
        @Default("true") boolean enabled,
        @Default("logs/access.log") String path,
        @Default("65536") int buffer,
        @Default("combined") String format,
        AccessLogRotationConfig rotation) {

    public AccessLogConfig {
        if (buffer < 16) {
            throw new InvalidConfigException("buffer", "must be at least 16");
        }
        String problem = io.portico.server.log.AccessLogFormats.check(format);
        if (problem != null) {
            throw new InvalidConfigException("format", problem);
        }
        if (path.isEmpty()) {
            throw new InvalidConfigException("path", "cannot be empty; use stdout or a file");
        }
    }

    /** The defaults but for these three (tests, and code that builds a log by hand). */
    public AccessLogConfig(boolean enabled, String path, int buffer) {
        this(enabled, path, buffer, "combined", new AccessLogRotationConfig(ByteSize.parse("0"), false, 7));
    }
}
