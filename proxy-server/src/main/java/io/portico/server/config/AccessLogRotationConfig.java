package io.portico.server.config;

/**
 * When the access log file is rotated: renamed to {@code PATH.1} (older ones shift to
 * {@code PATH.2} …) and a new file started, by the writer thread, between two lines.
 *
 * @param maxSize rotate before the file would grow past this size; 0 for no size limit
 * @param daily   rotate at the first line written on a new day (local time)
 * @param keep    rotated files kept; the oldest beyond this is deleted
 */
public record AccessLogRotationConfig(
        @Default("0") ByteSize maxSize,
        @Default("false") boolean daily,
        @Default("7") int keep) {

    public AccessLogRotationConfig {
        if (keep < 1 || keep > 1000) {
            throw new InvalidConfigException("keep", "must be between 1 and 1000, got " + keep);
        }
    }

    /** Whether the log is rotated at all. */
    public boolean enabled() {
        return daily || maxSize.bytes() > 0;
    }
}
