package io.portico.server.log;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;

/**
 * The access log file, rotated by size and/or daily: {@code PATH} is renamed to {@code PATH.1},
 * older files shift up to {@code PATH.KEEP}, the one past that is deleted, and a new {@code PATH}
 * is started. Written by the access log's writer thread only, in whole batches of lines, so a line
 * never straddles two files.
 */
final class RotatingFile extends OutputStream {

    private final Path path;
    private final long maxBytes;
    private final boolean daily;
    private final int keep;
    private final ZoneId zone;
    private OutputStream out;
    private long size;
    private LocalDate day;

    /**
     * @param maxBytes rotate before the file would pass this size; 0 for never
     * @param daily    rotate at the first write on a new day in {@code zone}
     * @param keep     rotated files kept
     */
    RotatingFile(Path path, long maxBytes, boolean daily, int keep, ZoneId zone) throws IOException {
        this.path = path;
        this.maxBytes = maxBytes;
        this.daily = daily;
        this.keep = keep;
        this.zone = zone;
        open();
        if (Files.size(path) > 0) {
            // A file left from a run on an earlier day rotates at the first line written today.
            day = LocalDate.ofInstant(Files.getLastModifiedTime(path).toInstant(), zone);
        }
    }

    private void open() throws IOException {
        out = Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        size = Files.size(path);
        day = LocalDate.ofInstant(Instant.now(), zone);
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (size > 0 && ((maxBytes > 0 && size + len > maxBytes)
                || (daily && !LocalDate.ofInstant(Instant.now(), zone).equals(day)))) {
            rotate();
        }
        out.write(b, off, len);
        size += len;
    }

    /** Renames the current file to {@code PATH.1} (shifting older ones) and starts a new one. */
    void rotate() throws IOException {
        out.close();
        Files.deleteIfExists(numbered(keep));
        for (int i = keep - 1; i >= 1; i--) {
            Path from = numbered(i);
            if (Files.exists(from)) {
                Files.move(from, numbered(i + 1), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.move(path, numbered(1), StandardCopyOption.REPLACE_EXISTING);
        open();
    }

    /** Closes the file and opens {@code PATH} again (a new file if it was moved away). */
    void reopen() throws IOException {
        out.close();
        open();
    }

    private Path numbered(int n) {
        return path.resolveSibling(path.getFileName() + "." + n);
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
