package io.portico.http.cache;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The framing of a {@code multipart/byteranges} body (RFC 9110 section 14.6) for several ranges
 * of one representation: each part is a delimiter line, its {@code Content-Type} and
 * {@code Content-Range}, an empty line, then the range's bytes; the body ends with the closing
 * delimiter. The part heads are made once, so the exact {@code Content-Length} is known before
 * the first byte is sent.
 */
public final class MultipartByteRanges {

    private final List<ByteRange> ranges;
    private final String boundary;
    private final byte[][] heads;
    private final byte[] tail;
    private final long contentLength;

    /**
     * @param ranges      ascending, disjoint ranges (at least two)
     * @param contentType the representation's media type, or null
     * @param total       the representation's length
     */
    public MultipartByteRanges(List<ByteRange> ranges, String contentType, long total) {
        this(ranges, contentType, total, newBoundary());
    }

    MultipartByteRanges(List<ByteRange> ranges, String contentType, long total, String boundary) {
        this.ranges = List.copyOf(ranges);
        this.boundary = boundary;
        this.heads = new byte[ranges.size()][];
        long length = 0;
        for (int i = 0; i < ranges.size(); i++) {
            ByteRange r = ranges.get(i);
            StringBuilder sb = new StringBuilder(96);
            // The CRLF before a delimiter belongs to the delimiter (RFC 2046 section 5.1.1).
            sb.append(i == 0 ? "--" : "\r\n--").append(boundary).append("\r\n");
            if (contentType != null) {
                sb.append("Content-Type: ").append(contentType).append("\r\n");
            }
            sb.append("Content-Range: ").append(r.contentRange(total)).append("\r\n\r\n");
            heads[i] = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
            length += heads[i].length + r.length();
        }
        this.tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII);
        this.contentLength = length + tail.length;
    }

    /** A boundary that cannot occur in a part head and is unlikely in the data (RFC 2046: at most 70 characters). */
    static String newBoundary() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return "portico-" + Long.toHexString(random.nextLong() | Long.MIN_VALUE) + Long.toHexString(random.nextLong() | Long.MIN_VALUE);
    }

    /** The response's {@code Content-Type}. */
    public String contentType() {
        return "multipart/byteranges; boundary=" + boundary;
    }

    /** The exact body length: part heads, ranges and the closing delimiter. */
    public long contentLength() {
        return contentLength;
    }

    public int size() {
        return ranges.size();
    }

    public ByteRange range(int i) {
        return ranges.get(i);
    }

    /** The bytes that come before part {@code i}'s data. */
    public byte[] head(int i) {
        return heads[i];
    }

    /** The closing delimiter, after the last part's data. */
    public byte[] tail() {
        return tail;
    }
}
